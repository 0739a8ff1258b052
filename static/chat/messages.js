/**
 * The message log: one entry per id in seq order, older and newer pages on demand, jumps to any
 * message (a reply's original, a permalink), the unread divider, and a steady view.
 *
 * The log shows a contiguous stretch of the room. Normally it reaches the latest message and
 * live messages join at the bottom; after a jump far back it may not (`hasNewer`): live messages
 * then wait on the server until the reader scrolls down to them or jumps to the latest.
 */
import { make, regroup } from "./render.js";

const LOAD_OLDER_PX = 120; // this close to the top, older messages are fetched
const LOAD_NEWER_PX = 120; // this close to the bottom of a stretch that is not the latest, newer ones
const AT_BOTTOM_PX = 48; // this close to the bottom counts as reading the latest
const FLASH_MS = 2000;
const OLDER_TEXT = {
  more: "Scroll up for older messages",
  loading: "Loading older messages…",
  start: "This is the start of the room.",
};
const JUMP_TEXT = { latest: "Jump to latest ↓", news: "New messages ↓" };

export function createMessageLog({
  log, list, pendingList, jump, olderText, olderButton, me, renderer, boot, send, onRead, learnName,
}) {
  const frames = new Map(); // id -> the message as now known (frame fields, edits and reactions applied)
  const deleted = new Set(); // a late broadcast must not bring a deleted message back
  let hasMore = boot.has_more;
  let hasNewer = boot.has_more_after;
  let loadingOlder = false;
  let loadingNewer = false;
  let pendingJump = null; // the id an `around` request is for
  let pinned = true; // the reader was at the bottom at the last scroll
  let news = false; // a message arrived below the view (or beyond the stretch shown)
  let lastRead = boot.last_read; // null: this identity never read this room
  let divider = null;

  const items = () => list.querySelectorAll("li.message");
  const itemOf = (id) => list.querySelector(`li.message[data-id="${Number(id)}"]`);
  const nearBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < AT_BOTTOM_PX;
  const first = () => list.querySelector("li.message");
  const last = () => {
    const all = items();
    return all[all.length - 1] || null;
  };

  // ---- the view ----

  function showJump() {
    const away = hasNewer || !nearBottom();
    jump.hidden = !away;
    jump.textContent = news ? JUMP_TEXT.news : JUMP_TEXT.latest;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
    news = false;
    showJump();
    noteReading();
  }

  function showOlderState() {
    const state = loadingOlder ? "loading" : hasMore ? "more" : "start";
    olderText.textContent = OLDER_TEXT[state];
    olderButton.hidden = state !== "more";
  }

  function flash(li) {
    li.classList.add("flash");
    setTimeout(() => li.classList.remove("flash"), FLASH_MS);
  }

  /** Bring message `id` into view and mark it; false if it is not in the log. */
  function reveal(id) {
    const li = itemOf(id);
    if (!li) return false;
    li.scrollIntoView({ block: "center" });
    pinned = nearBottom();
    flash(li);
    li.tabIndex = -1;
    li.focus({ preventScroll: true });
    showJump();
    return true;
  }

  /** The newest message is in view and the tab is seen: tell the server how far we read. */
  function noteReading() {
    if (hasNewer || document.hidden || !nearBottom()) return;
    const newest = last();
    if (newest) onRead(Number(newest.dataset.seq));
  }

  // ---- the unread divider ----

  function offsetIn(el) {
    return el.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop;
  }

  function placeDivider() {
    if (lastRead === null || divider) return;
    const firstUnread = Array.from(items()).find(
      (li) => Number(li.dataset.seq) > lastRead && li.dataset.author !== me.id,
    );
    if (!firstUnread) return;
    divider = make("li", "unread-divider");
    divider.append(make("span", "", "New since you last read"));
    firstUnread.before(divider);
    regroup(firstUnread);
  }

  function clearDivider() {
    if (!divider) return;
    const next = divider.nextElementSibling;
    divider.remove();
    divider = null;
    regroup(next);
  }

  /** Another tab (or this one) read up to `seq`: a divider with nothing unread below it goes. */
  function readUpTo(seq) {
    lastRead = Math.max(lastRead ?? 0, seq);
    if (!divider) return;
    const below = Array.from(items()).filter((li) => li.compareDocumentPosition(divider) & Node.DOCUMENT_POSITION_PRECEDING);
    if (below.every((li) => Number(li.dataset.seq) <= seq || li.dataset.author === me.id)) clearDivider();
  }

  // ---- the entries ----

  function remember(frame) {
    frames.set(frame.id, { ...frame });
    learnName(frame.author);
  }

  function insertBySeq(li, seq) {
    let after = last();
    while (after && Number(after.dataset.seq) > seq) {
      let prev = after.previousElementSibling;
      while (prev && !prev.classList.contains("message")) prev = prev.previousElementSibling;
      after = prev;
    }
    if (after) after.after(li);
    else if (first()) first().before(li);
    else list.append(li);
  }

  function newestSeq() {
    const newest = last();
    return newest ? Number(newest.dataset.seq) : -1;
  }

  function addMessage(frame) {
    if (frames.has(frame.id) || deleted.has(frame.id)) return false;
    if (hasNewer && frame.seq > newestSeq()) {
      news = true; // beyond the stretch shown: it is loaded when the reader gets there
      showJump();
      return false;
    }
    const mine = frame.author.id === me.id;
    const stick = nearBottom();
    const li = renderer.messageItem(frame);
    remember(frame);
    insertBySeq(li, frame.seq);
    regroup(li);
    regroup(li.nextElementSibling);
    if (stick || mine) scrollToBottom();
    else if (li === last()) {
      news = true;
      showJump();
    }
    return true;
  }

  function updateQuotes(id, change) {
    for (const quote of list.querySelectorAll(`.reply-quote[data-target="${Number(id)}"]`)) {
      const author = quote.querySelector(".reply-author");
      const reply = {
        id,
        author: { id: author.dataset.author, name: author.textContent },
        excerpt: change.excerpt,
      };
      renderer.showOriginal(quote, reply);
    }
  }

  /** A change from the server (message, edit, reactions or delete); true if it showed a new message. */
  function apply(change) {
    const known = frames.get(change.id);
    if (change.type === "message") return addMessage(change);
    if (change.type === "delete") {
      deleted.add(change.id);
      frames.delete(change.id);
      const li = itemOf(change.id);
      if (li) {
        const next = li.nextElementSibling;
        li.remove();
        regroup(next);
      }
      updateQuotes(change.id, { excerpt: null });
      return false;
    }
    if (!known) return false; // a change to a message this page does not show
    const li = itemOf(change.id);
    if (change.type === "edit") {
      Object.assign(known, { body: change.body, edited_at: change.edited_at, mentions: change.mentions });
      if (li) renderer.showEdit(li, known);
      updateQuotes(change.id, { excerpt: change.body.slice(0, 100) });
    } else if (change.type === "reactions") {
      known.reactions = change.reactions;
      if (li) renderer.showReactions(li, change.reactions);
    }
    return false;
  }

  /** Replace the whole log with a page (an `around` or latest page). */
  function replaceWith(messages) {
    frames.clear();
    divider = null;
    const page = document.createDocumentFragment();
    for (const message of messages) {
      if (deleted.has(message.id)) continue;
      page.append(renderer.messageItem(message));
      remember(message);
    }
    list.replaceChildren(page);
    for (const li of items()) regroup(li);
    placeDivider();
  }

  function prependOlder(messages) {
    const fromBottom = log.scrollHeight - log.scrollTop;
    const page = document.createDocumentFragment();
    for (const message of messages) {
      if (frames.has(message.id) || deleted.has(message.id)) continue;
      page.append(renderer.messageItem(message));
      remember(message);
    }
    const firstBefore = list.firstElementChild;
    list.prepend(page); // every message of a `before` page is older than all shown
    for (let li = list.firstElementChild; li && li !== firstBefore; li = li.nextElementSibling) regroup(li);
    regroup(firstBefore);
    log.scrollTop = log.scrollHeight - fromBottom; // the reader's view stays where it was
  }

  function appendNewer(messages) {
    for (const message of messages) {
      if (frames.has(message.id) || deleted.has(message.id)) continue;
      const li = renderer.messageItem(message);
      remember(message);
      list.append(li);
      regroup(li);
    }
  }

  // ---- pages ----

  function loadOlder() {
    const oldest = first();
    if (!hasMore || loadingOlder || !oldest) return;
    loadingOlder = send({ type: "history", before: Number(oldest.dataset.id), limit: 50 });
    showOlderState();
  }

  function loadNewer() {
    const newest = last();
    if (!hasNewer || loadingNewer || !newest) return;
    loadingNewer = send({ type: "history", after: Number(newest.dataset.id), limit: 50 });
  }

  function showHistory(frame) {
    if (frame.before !== undefined) {
      loadingOlder = false;
      hasMore = frame.has_more;
      prependOlder(frame.messages);
      showOlderState();
      if (log.scrollTop < LOAD_OLDER_PX) loadOlder();
    } else if (frame.after !== undefined) {
      loadingNewer = false;
      hasNewer = frame.has_more;
      appendNewer(frame.messages);
      if (!hasNewer) news = false;
      showJump();
      noteReading();
    } else {
      // The latest page, asked for by a jump to the latest from a stretch far back.
      loadingNewer = false;
      hasNewer = false;
      hasMore = frame.has_more;
      replaceWith(frame.messages);
      showOlderState();
      scrollToBottom();
    }
  }

  function showAround(frame) {
    if (frame.id !== pendingJump) return;
    pendingJump = null;
    hasMore = frame.has_more;
    hasNewer = frame.has_more_after;
    replaceWith(frame.messages);
    showOlderState();
    reveal(frame.id);
  }

  /** Show message `id`, loading the stretch around it if it is not in the log. */
  function jumpTo(id) {
    if (reveal(id)) return;
    pendingJump = id;
    if (!send({ type: "around", id, limit: 50 })) pendingJump = null;
  }

  /** Back to the latest messages: a scroll, or a new page when the log is a stretch far back. */
  function jumpToLatest() {
    if (!hasNewer) {
      scrollToBottom();
      return;
    }
    loadingNewer = send({ type: "history", limit: 50 });
  }

  /** After a reconnect or an error, an unanswered page request will not be answered. */
  function historyFailed() {
    loadingOlder = false;
    loadingNewer = false;
    pendingJump = null;
    showOlderState();
  }

  function reconnected() {
    historyFailed();
    if (log.scrollTop < LOAD_OLDER_PX) loadOlder();
  }

  // ---- pending messages (our own, until the server confirms them) ----

  function addPending({ client_id: clientId, body, reply_to: replyTo }) {
    const li = renderer.messageItem({ author: me, body, sent_at: null, reply_to: replyTo || null });
    li.classList.add("pending");
    li.dataset.clientId = clientId;
    li.querySelector(".message-meta").append(make("span", "sending", "Sending…"));
    pendingList.append(li);
    if (!hasNewer) scrollToBottom();
  }

  function removePending(clientId) {
    for (const li of pendingList.children) if (li.dataset.clientId === clientId) li.remove();
  }

  function renameAuthor(member) {
    const selector = `li[data-author="${CSS.escape(member.id)}"] .author`;
    for (const root of [list, pendingList]) {
      for (const name of root.querySelectorAll(selector)) name.textContent = member.name;
    }
    for (const name of list.querySelectorAll(`.reply-author[data-author="${CSS.escape(member.id)}"]`)) {
      name.textContent = member.name;
    }
  }

  /** The frame of the newest message of ours in the log (for Up-arrow editing), or null. */
  function lastOwn() {
    const mine = Array.from(list.querySelectorAll("li.message.mine")).pop();
    return mine ? frames.get(Number(mine.dataset.id)) : null;
  }

  // The server rendered the page as plain text; draw it again from the frames, as live
  // messages are, so a refresh looks the same (links, formatting, local times).
  replaceWith(boot.messages);
  log.addEventListener("scroll", () => {
    pinned = nearBottom();
    if (pinned && !hasNewer) news = false;
    showJump();
    if (log.scrollTop < LOAD_OLDER_PX) loadOlder();
    if (hasNewer && log.scrollHeight - log.scrollTop - log.clientHeight < LOAD_NEWER_PX) loadNewer();
    noteReading();
  });
  document.addEventListener("visibilitychange", noteReading);
  // A growing composer, an error line or a phone keyboard shrinks the log: keep the latest in view.
  new ResizeObserver(() => {
    if (pinned && !hasNewer) log.scrollTop = log.scrollHeight;
  }).observe(log);
  jump.addEventListener("click", () => {
    jumpToLatest();
    log.focus();
  });
  olderButton.addEventListener("click", loadOlder);
  showOlderState();
  if (boot.around !== null && boot.around !== undefined) {
    reveal(boot.around);
  } else if (divider && offsetIn(divider) > log.scrollHeight - (log.clientHeight * 2) / 3) {
    scrollToBottom(); // the unread messages fit on the screen
  } else if (divider) {
    log.scrollTop = offsetIn(divider) - log.clientHeight / 3; // the first unread message, with context
    pinned = nearBottom();
    showJump();
  } else {
    scrollToBottom();
  }

  return {
    apply,
    showHistory,
    showAround,
    historyFailed,
    reconnected,
    addPending,
    removePending,
    renameAuthor,
    jumpTo,
    jumpToLatest,
    readUpTo,
    clearDivider,
    lastOwn,
    frameOf: (id) => frames.get(Number(id)) || null,
    isDetached: () => hasNewer,
    noteReading,
  };
}
