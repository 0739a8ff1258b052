/** The composer: Enter sends, a message stays pending until its echo, nothing typed is lost. */
const RESEND_AFTER_LIMIT_MS = 3000;
const ERROR_SHOWN_MS = 8000;
const NEAR_LIMIT = 0.9; // the counter warns from this share of the maximum length
const RETRYABLE = new Set(["rate_limited", "unavailable"]); // not stored this time; send again

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

export function createComposer({ form, input, counter, error, maxLength, roomCode, send, messages, onTyping }) {
  const pendingKey = `chatsite:pending:${roomCode}`;
  const draftKey = `chatsite:draft:${roomCode}`;
  let pending = stored.get(pendingKey, []);
  let errorTimer = null;
  let retryTimer = null;

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

  function transmit(item) {
    send({ type: "message", body: item.body, client_id: item.client_id });
  }

  function submit() {
    const body = input.value.trim(); // as the server will store it
    if (!body) return;
    if (body.length > maxLength) return showError(`A message can be at most ${maxLength} characters.`);
    const item = { client_id: clientId(), body };
    pending.push(item);
    stored.set(pendingKey, pending);
    messages.addPending(item);
    transmit(item); // offline, it waits in `pending` and goes out with the next hello
    input.value = "";
    stored.set(draftKey, "");
    showCount();
    error.hidden = true;
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
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    stored.set(draftKey, input.value);
    showCount();
    if (input.value.trim()) onTyping();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
    input.focus();
  });

  if (!input.value) input.value = stored.get(draftKey, "");
  pending.forEach(messages.addPending);
  showCount();
  return { confirm, resendAll, failed };
}
