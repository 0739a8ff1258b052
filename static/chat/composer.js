/**
 * The composer: Enter sends, a message stays pending until its echo, nothing typed is lost.
 * It also answers (reply mode, shown above the box) and edits (edit mode: Up-arrow in an empty
 * box takes your last message), and offers @mentions as you type.
 */
import { plainPreview } from "./format.js";

const RESEND_AFTER_LIMIT_MS = 3000;
const ERROR_SHOWN_MS = 8000;
const NEAR_LIMIT = 0.9; // the counter warns from this share of the maximum length
const RETRYABLE = new Set(["rate_limited", "unavailable"]); // not stored this time; send again
const OFFLINE = "You are offline; try again when the status says Online.";

function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** sessionStorage that never throws: a private window may refuse it, the chat still works. */
const stored = {
  get(key, fallback) {
    try {
      return JSON.parse(sessionStorage.getItem(key)) ?? fallback;
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      sessionStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* nothing to do: the message is still on screen and in memory */
    }
  },
};

export function createComposer({
  form, input, counter, error, context, maxLength, roomCode, send, messages, onTyping, mentions, canEdit,
}) {
  const pendingKey = `chatsite:pending:${roomCode}`;
  const draftKey = `chatsite:draft:${roomCode}`;
  const contextText = context.querySelector(".composer-context-text");
  const contextCancel = context.querySelector("button");
  let pending = stored.get(pendingKey, []);
  let errorTimer = null;
  let retryTimer = null;
  let mode = null; // {kind: "reply" | "edit", frame}
  let draftBeforeEdit = "";

  function showCount() {
    counter.textContent = `${input.value.length} / ${maxLength}`;
    counter.classList.toggle("near-limit", input.value.length >= maxLength * NEAR_LIMIT);
  }

  function showError(detail) {
    clearTimeout(errorTimer);
    error.textContent = detail;
    error.hidden = false;
    errorTimer = setTimeout(() => (error.hidden = true), ERROR_SHOWN_MS);
  }

  // ---- reply and edit modes ----

  function setMode(next) {
    mode = next;
    context.hidden = mode === null;
    form.classList.toggle("editing", mode?.kind === "edit");
    if (mode?.kind === "reply") {
      contextText.textContent = `Replying to ${mode.frame.author.name}: ${plainPreview(mode.frame.body).slice(0, 80)}`;
      contextCancel.setAttribute("aria-label", "Cancel the reply");
    } else if (mode?.kind === "edit") {
      contextText.textContent = "Editing your message · Enter saves, Escape cancels";
      contextCancel.setAttribute("aria-label", "Cancel editing");
    }
  }

  function replyTo(frame) {
    if (mode?.kind === "edit") cancel();
    setMode({ kind: "reply", frame });
    input.focus();
  }

  function edit(frame) {
    if (mode?.kind !== "edit") draftBeforeEdit = input.value;
    setMode({ kind: "edit", frame });
    input.value = frame.body;
    showCount();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  function cancel() {
    if (mode?.kind === "edit") {
      input.value = draftBeforeEdit;
      showCount();
    }
    setMode(null);
  }

  // ---- sending ----

  function transmit(item) {
    const frame = { type: "message", body: item.body, client_id: item.client_id };
    if (item.reply_to) frame.reply_to = item.reply_to.id;
    send(frame);
  }

  function saveEdit(body) {
    const frame = mode.frame;
    if (body !== frame.body && !send({ type: "edit", id: frame.id, body })) return showError(OFFLINE);
    input.value = draftBeforeEdit;
    stored.set(draftKey, input.value);
    setMode(null);
    showCount();
  }

  function submit() {
    const body = input.value.trim(); // as the server will store it
    if (!body) return;
    if (body.length > maxLength) return showError(`A message can be at most ${maxLength} characters.`);
    error.hidden = true;
    if (mode?.kind === "edit") return saveEdit(body);
    const item = { client_id: clientId(), body };
    if (mode?.kind === "reply") {
      const { id, author, body: original } = mode.frame;
      item.reply_to = { id, author, excerpt: original.slice(0, 100) };
    }
    if (messages.isDetached()) messages.jumpToLatest(); // your message shows among the latest
    pending.push(item);
    stored.set(pendingKey, pending);
    messages.addPending(item);
    transmit(item); // offline, it waits in `pending` and goes out with the next hello
    input.value = "";
    stored.set(draftKey, "");
    setMode(null);
    showCount();
  }

  /** The echo of one of our messages arrived: it is stored, and shown as confirmed. */
  function confirm(id) {
    pending = pending.filter((item) => item.client_id !== id);
    stored.set(pendingKey, pending);
    messages.removePending(id);
  }

  /** Safe to repeat: the server answers a known client_id with the message it stored. */
  function resendAll() {
    pending.forEach(transmit);
  }

  function failed({ code, detail, client_id: id }) {
    showError(detail);
    if (id && !RETRYABLE.has(code)) {
      // Refused for good (too long, empty, ...): resending it would only be refused again.
      const refused = pending.find((item) => item.client_id === id);
      confirm(id);
      if (refused && !input.value) input.value = refused.body; // give the text back to edit
      showCount();
      return;
    }
    if (!RETRYABLE.has(code) || retryTimer !== null) return;
    // One retry for a burst of refusals: resending on each one would only feed the limit.
    retryTimer = setTimeout(() => {
      retryTimer = null;
      resendAll();
    }, RESEND_AFTER_LIMIT_MS);
  }

  input.addEventListener("keydown", (event) => {
    if (event.isComposing || mentions.handleKey(event)) return;
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape" && mode) {
      event.preventDefault();
      cancel();
    } else if (event.key === "ArrowUp" && !input.value && !mode) {
      const last = messages.lastOwn();
      if (last && canEdit(last)) {
        event.preventDefault();
        edit(last);
      }
    }
  });
  input.addEventListener("input", () => {
    if (mode?.kind !== "edit") stored.set(draftKey, input.value);
    showCount();
    if (input.value.trim() && mode?.kind !== "edit") onTyping();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
    input.focus();
  });
  contextCancel.addEventListener("click", () => {
    cancel();
    input.focus();
  });

  if (!input.value) input.value = stored.get(draftKey, "");
  pending.forEach(messages.addPending);
  showCount();
  return { confirm, resendAll, failed, replyTo, edit, showError };
}
