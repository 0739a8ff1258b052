/** Typing notices: show who else is typing for a few seconds; send ours at most every 3 s. */
const SHOWN_MS = 4000;
const SEND_EVERY_MS = 3000;

export function createTypingIndicator({ el, me }) {
  const typists = new Map(); // member id -> {name, timer}

  function render() {
    const names = Array.from(typists.values(), (t) => t.name);
    if (names.length === 0) el.textContent = "";
    else if (names.length === 1) el.textContent = `${names[0]} is typing…`;
    else if (names.length === 2) el.textContent = `${names[0]} and ${names[1]} are typing…`;
    else el.textContent = "Several people are typing…";
  }

  function clear(id) {
    clearTimeout(typists.get(id)?.timer);
    if (typists.delete(id)) render();
  }

  function show(member) {
    if (member.id === me.id) return; // the server echoes our own notice to every tab
    clearTimeout(typists.get(member.id)?.timer);
    typists.set(member.id, { name: member.name, timer: setTimeout(() => clear(member.id), SHOWN_MS) });
    render();
  }

  function rename(member) {
    const typist = typists.get(member.id);
    if (typist) typist.name = member.name;
    render();
  }

  return { show, clear, rename };
}

/** A function to call on every keystroke; it sends a typing notice at most every SEND_EVERY_MS. */
export function createTypingSender(send) {
  let sentAt = -Infinity;
  return () => {
    const now = Date.now();
    if (now - sentAt >= SEND_EVERY_MS && send({ type: "typing" })) sentAt = now;
  };
}
