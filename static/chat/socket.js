/** The room socket: connect, reconnect with backoff, resume from the last seq, fill gaps. */
// Full-jitter exponential backoff: the first retry somewhere in 0-1 s, then in 0-2 s, 0-4 s, ...
// up to 0-10 s, so a whole room whose server restarted comes back as a stream, not a wall. A
// server that says when to come back (`retry_after_ms`) is obeyed.
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 10000;
const BACK_ONLINE_MS = 4000;
const STALE_MS = 25000; // only once ticks are seen: a silent socket this long is presumed dead
const SYNC_RETRY_MS = 2000;
// With several workers a room's frames can overtake each other by a few milliseconds; wait this
// long for the missing ones before asking the server, so a reordering costs no sync round trip.
const GAP_WAIT_MS = 300;
const CLOSE_ROOM_NOT_FOUND = 4404;
const CLOSE_REFUSED = 4403; // kicked, banned, or a locked room: the frame before said why; no retry
const CLOSE_RATE_LIMITED = 4429; // the server wants this address to slow down
const RATE_LIMITED_ATTEMPT = 4; // ...so retry as if four attempts had failed (4 to 8 s)
const STATUS = {
  connecting: "Connecting…",
  online: "Online",
  reconnecting: "Reconnecting…",
  back: "Back online",
  gone: "This room no longer exists",
  removed: "Not connected",
  delayed: "Live updates delayed",
};

/**
 * Opens the socket of one room and keeps it open. Changes (message, edit, reactions and delete frames, from
 * live broadcasts, hello, or sync) go to onChange in any order and possibly twice; the caller
 * dedupes by id. Other frames go to onFrame. onHello runs after each hello's changes.
 */
export function openRoomSocket({ path, seq, status, onChange, onHello, onFrame }) {
  let ws = null;
  let ready = false; // hello received on the current socket: frames sent now are answered
  let lastSeq = seq; // every change up to here has been handed to onChange
  const ahead = new Set(); // seqs seen live beyond lastSeq + 1, waiting for the gap to fill
  let syncing = false;
  let attempt = 0;
  let everOnline = false;
  let retryTimer = null;
  let statusTimer = null;
  let heardAt = Date.now();
  let sawTick = false;
  let gapTimer = null;
  let comeBackAt = 0; // the server asked us not to reconnect before this time (retry_after_ms)

  function show(state) {
    clearTimeout(statusTimer);
    status.dataset.state = state;
    status.textContent = STATUS[state];
    if (state === "back") statusTimer = setTimeout(() => show("online"), BACK_ONLINE_MS);
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(`${scheme}//${location.host}${path}?after=${lastSeq}`);
    ws = sock;
    sock.addEventListener("message", (event) => {
      if (ws !== sock) return;
      heardAt = Date.now();
      receive(JSON.parse(event.data));
    });
    sock.addEventListener("close", (event) => {
      if (ws === sock) closed(event.code);
    });
  }

  function closed(code) {
    ws = null;
    ready = false;
    syncing = false;
    if (code === CLOSE_ROOM_NOT_FOUND) return show("gone");
    if (code === CLOSE_REFUSED) return show("removed");
    show(everOnline ? "reconnecting" : "connecting");
    if (code === CLOSE_RATE_LIMITED) attempt = Math.max(attempt, RATE_LIMITED_ATTEMPT);
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
    attempt += 1;
    const wait = Math.max(Math.random() * ceiling, comeBackAt - Date.now());
    retryTimer = setTimeout(connect, wait);
  }

  function reconnectNow() {
    if (retryTimer !== null && Date.now() >= comeBackAt) connect();
  }

  function send(frame) {
    if (!ready) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function advance() {
    while (ahead.delete(lastSeq + 1)) lastSeq += 1;
    for (const s of ahead) if (s <= lastSeq) ahead.delete(s);
  }

  function track(changeSeq) {
    if (changeSeq <= lastSeq) return;
    if (changeSeq === lastSeq + 1) {
      lastSeq = changeSeq;
      advance();
    } else {
      ahead.add(changeSeq); // a broadcast was lost or overtaken: ask for what lies between
      if (gapTimer === null) gapTimer = setTimeout(syncIfStillAhead, GAP_WAIT_MS);
    }
  }

  function syncIfStillAhead() {
    gapTimer = null;
    if (ahead.size) requestSync();
  }

  function requestSync() {
    if (syncing || !ready) return;
    syncing = send({ type: "sync", after: lastSeq });
  }

  function caughtUp(changes, upto, hasMore) {
    changes.forEach(onChange);
    lastSeq = Math.max(lastSeq, upto);
    advance();
    if (hasMore || ahead.size) requestSync();
  }

  function receive(frame) {
    switch (frame.type) {
      case "hello":
        ready = true;
        attempt = 0;
        syncing = false;
        caughtUp(frame.messages, frame.room.seq, frame.has_more);
        show(everOnline ? "back" : "online");
        everOnline = true;
        onHello(frame);
        break;
      case "message":
      case "edit":
      case "reactions":
      case "delete":
      case "room": // a room's settings or a member's role or mute (moderation): changes with a seq
      case "member":
        onChange(frame);
        track(frame.seq);
        break;
      case "sync":
        syncing = false;
        caughtUp(frame.messages, frame.seq, frame.has_more);
        break;
      case "tick":
        sawTick = true;
        // `delayed`: the server cannot pass live frames on (its channel layer is down); each tick
        // still brings the seq, so the page keeps up by syncing until the ticks are normal again.
        if (frame.delayed) show("delayed");
        else if (status.dataset.state === "delayed") show("online");
        if (frame.seq > lastSeq) requestSync();
        break;
      case "error":
        if (frame.retry_after_ms) comeBackAt = Date.now() + frame.retry_after_ms;
        if (syncing && frame.code === "rate_limited") {
          syncing = false;
          setTimeout(requestSync, SYNC_RETRY_MS);
        }
        onFrame(frame);
        break;
      default:
        onFrame(frame);
    }
  }

  setInterval(() => {
    if (!sawTick || !ws || Date.now() - heardAt < STALE_MS) return;
    const dead = ws;
    closed(1006); // without waiting for a closing handshake that a dead link never finishes
    dead.close();
  }, STALE_MS / 5);
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) reconnectNow();
  });

  show("connecting");
  connect();
  return { send, isReady: () => ready };
}
