/** The tab title counts the messages that arrive while the tab is hidden. */
export function createUnreadTitle() {
  const base = document.title;
  let unread = 0;

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    unread = 0;
    document.title = base;
  });

  return {
    noteNew() {
      if (!document.hidden) return;
      unread += 1;
      document.title = `(${unread}) ${base}`;
    },
  };
}
