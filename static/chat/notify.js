/**
 * Telling a person about new messages while the tab is hidden: the title counts unread messages
 * and mentions, and, as the room's setting selects (all / mentions, the default / off), a desktop
 * notification with a short sound. The browser's permission is asked only after a click on the
 * setting; the setting is kept per room in this browser.
 */
import { plainPreview } from "./format.js";

const LEVELS = { all: "All messages", mentions: "Mentions only", off: "Off" };
const DEFAULT_LEVEL = "mentions";
const BODY_PREVIEW = 120;

function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* a private window: the setting lasts as long as the page */
  }
}

/** A short two-note chime, made here (no sound file); silent where audio is not allowed yet. */
function chime() {
  try {
    const audio = new AudioContext();
    const gain = audio.createGain();
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
    gain.connect(audio.destination);
    for (const [frequency, at] of [[880, 0], [1320, 0.12]]) {
      const tone = audio.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(audio.currentTime + at);
      tone.stop(audio.currentTime + at + 0.2);
    }
    setTimeout(() => audio.close(), 600);
  } catch {
    /* no audio: the notification and the title still tell */
  }
}

export function createNotifier({ select, allow, hint, roomLabel, roomCode, me }) {
  const key = `chatsite:notify:${roomCode}`;
  const base = document.title;
  let level = LEVELS[load(key)] ? load(key) : DEFAULT_LEVEL;
  let unread = 0;
  let mentioned = 0;

  function showTitle() {
    if (!unread) document.title = base;
    else document.title = mentioned ? `(${unread}, @${mentioned}) ${base}` : `(${unread}) ${base}`;
  }

  function showHint() {
    const permission = "Notification" in window ? Notification.permission : "unsupported";
    allow.hidden = level === "off" || permission !== "default";
    hint.hidden = level === "off" || (permission !== "denied" && permission !== "unsupported");
    hint.textContent = permission === "denied"
      ? "Desktop notifications are blocked in this browser's settings."
      : "This browser cannot show desktop notifications.";
  }

  async function askPermission() {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    try {
      await Notification.requestPermission();
    } catch {
      /* an old browser's callback form; the hint tells what happened */
    }
    showHint();
  }

  /** A new message (not ours) arrived; `frame` is its message frame. */
  function noteMessage(frame) {
    if (frame.author.id === me.id || !document.hidden) return;
    const mentionsMe = frame.mentions.includes(me.id);
    unread += 1;
    if (mentionsMe) mentioned += 1;
    showTitle();
    if (level === "off" || (level === "mentions" && !mentionsMe)) return;
    if ("Notification" in window && Notification.permission === "granted") {
      const title = mentionsMe ? `${frame.author.name} mentioned you in ${roomLabel}` : `${frame.author.name} in ${roomLabel}`;
      const shown = new Notification(title, {
        body: plainPreview(frame.body).slice(0, BODY_PREVIEW),
        tag: `chatsite-${roomCode}`,
        icon: frame.author.avatar,
      });
      shown.addEventListener("click", () => {
        window.focus();
        shown.close();
      });
    }
    chime();
  }

  for (const [value, label] of Object.entries(LEVELS)) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label;
    select.append(option);
  }
  select.value = level;
  select.addEventListener("change", () => {
    level = select.value;
    save(key, level);
    showHint();
  });
  allow.addEventListener("click", askPermission); // asked only when the person clicks for it
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    unread = 0;
    mentioned = 0;
    showTitle();
  });
  showHint();
  return { noteMessage };
}
