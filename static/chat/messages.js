/** The message log: one entry per id in seq order, older pages on demand, a steady view. */
import { adoptItem, make, messageItem, regroup } from "./render.js";

const LOAD_OLDER_PX = 120; // this close to the top, older messages are fetched
const AT_BOTTOM_PX = 48; // this close to the bottom counts as reading the latest
const OLDER_TEXT = {
  more: "Scroll up for older messages",
  loading: "Loading older messages…",
  start: "This is the start of the room.",
};

export function createMessageLog({ log, list, pendingList, jump, olderText, olderButton, me, hasMore, requestHistory }) {
  const known = new Set();
  const deleted = new Set(); // a late broadcast must not bring a deleted message back
  let oldest = null; // {id, seq} of the oldest message shown: the anchor for `history`
  let loading = false;
  let pinned = true; // the reader was at the bottom at the last scroll

  const nearBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < AT_BOTTOM_PX;

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
    jump.hidden = true;
  }

  function noteOldest(id, seq) {
    if (oldest === null || seq < oldest.seq) oldest = { id, seq };
  }

  function showOlderState() {
    const state = loading ? "loading" : hasMore ? "more" : "start";
    olderText.textContent = OLDER_TEXT[state];
    olderButton.hidden = state !== "more";
  }

  function loadOlder() {
    if (!hasMore || loading || oldest === null) return;
    loading = requestHistory(oldest.id);
    showOlderState();
  }

  function insertBySeq(li, seq) {
    let after = list.lastElementChild;
    while (after && Number(after.dataset.seq) > seq) after = after.previousElementSibling;
    if (after) after.after(li);
    else list.prepend(li);
  }

  /** A change from the server (message or delete); true if it showed a new message. */
  function apply(change) {
    if (change.type === "delete") {
      deleted.add(change.id);
      const li = list.querySelector(`li[data-id="${change.id}"]`);
      const next = li?.nextElementSibling;
      li?.remove();
      regroup(next);
      return false;
    }
    if (known.has(change.id) || deleted.has(change.id)) return false;
    const mine = change.author.id === me.id;
    const stick = nearBottom();
    const li = messageItem(change, mine);
    known.add(change.id);
    noteOldest(change.id, change.seq);
    insertBySeq(li, change.seq);
    regroup(li);
    regroup(li.nextElementSibling);
    if (stick || mine) scrollToBottom();
    else if (li === list.lastElementChild) jump.hidden = false;
    return true;
  }

  function showHistory({ messages, has_more: more }) {
    loading = false;
    hasMore = more;
    const fromBottom = log.scrollHeight - log.scrollTop;
    const page = document.createDocumentFragment();
    for (const message of messages) {
      if (known.has(message.id) || deleted.has(message.id)) continue;
      const li = messageItem(message, message.author.id === me.id);
      known.add(message.id);
      noteOldest(message.id, message.seq);
      page.append(li);
    }
    const firstBefore = list.firstElementChild;
    list.prepend(page); // every message of a history page is older than all shown
    for (let li = list.firstElementChild; li && li !== firstBefore; li = li.nextElementSibling) regroup(li);
    regroup(firstBefore);
    log.scrollTop = log.scrollHeight - fromBottom; // the reader's view stays where it was
    showOlderState();
    if (log.scrollTop < LOAD_OLDER_PX) loadOlder();
  }

  /** After a reconnect or an error, an unanswered history request will not be answered. */
  function historyFailed() {
    loading = false;
    showOlderState();
  }

  function reconnected() {
    historyFailed();
    if (log.scrollTop < LOAD_OLDER_PX) loadOlder();
  }

  function addPending({ client_id: clientId, body }) {
    const li = messageItem({ author: me, body, sent_at: null }, true);
    li.classList.add("pending");
    li.dataset.clientId = clientId;
    li.querySelector(".message-meta").append(make("span", "sending", "Sending…"));
    pendingList.append(li);
    scrollToBottom();
  }

  function removePending(clientId) {
    for (const li of pendingList.children) if (li.dataset.clientId === clientId) li.remove();
  }

  function renameAuthor(member) {
    const selector = `li[data-author="${CSS.escape(member.id)}"] .author`;
    for (const root of [list, pendingList]) {
      for (const name of root.querySelectorAll(selector)) name.textContent = member.name;
    }
  }

  // The server rendered the latest page as plain text; adopt it, with links and local times.
  for (const li of list.children) {
    known.add(Number(li.dataset.id));
    noteOldest(Number(li.dataset.id), Number(li.dataset.seq));
    adoptItem(li); // links and times made here, as for live messages, so a refresh looks the same
    regroup(li);
  }
  log.addEventListener("scroll", () => {
    pinned = nearBottom();
    if (pinned) jump.hidden = true;
    if (log.scrollTop < LOAD_OLDER_PX) loadOlder();
  });
  // A growing composer, an error line or a phone keyboard shrinks the log: keep the latest in view.
  new ResizeObserver(() => {
    if (pinned) log.scrollTop = log.scrollHeight;
  }).observe(log);
  jump.addEventListener("click", () => {
    scrollToBottom();
    log.focus();
  });
  olderButton.addEventListener("click", loadOlder);
  showOlderState();
  scrollToBottom();

  return { apply, showHistory, historyFailed, addPending, removePending, renameAuthor, reconnected };
}
