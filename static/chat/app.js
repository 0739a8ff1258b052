/** The room page: reads the server's bootstrap data and wires the modules to the socket. */
import { createMessageActions } from "./actions.js";
import { createComposer } from "./composer.js";
import { createMentionAutocomplete } from "./mentions.js";
import { createMessageLog } from "./messages.js";
import { createModeration } from "./moderation.js";
import { createNotifier } from "./notify.js";
import { createMemberList } from "./presence.js";
import { createRenderer } from "./render.js";
import { setUpRename } from "./rename.js";
import { setUpCopyLink } from "./share.js";
import { openRoomSocket } from "./socket.js";
import { createTypingIndicator, createTypingSender } from "./typing.js";

const READ_EVERY_MS = 2000; // `read` counts against the rate limit: at most one per this, the latest

const $ = (id) => document.getElementById(id);
const boot = JSON.parse($("chat-bootstrap").textContent);
const me = { ...boot.you }; // shared and updated in place: hello and rename may change it
let socket = null;
const send = (frame) => socket?.send(frame) ?? false;

// Names of everyone the page has seen (present members and authors), for mentions and reactions.
const names = new Map([[me.id, me.name]]);
const learnName = (member) => names.set(member.id, member.name);
const renderer = createRenderer({ me, nameOf: (id) => names.get(id) ?? null });

/** `read` for the newest seq seen, at most every READ_EVERY_MS, and again after a reconnect. */
const reader = (() => {
  let wanted = boot.last_read ?? 0;
  let sent = wanted;
  let timer = null;
  let lastSent = -Infinity;
  function flush() {
    timer = null;
    if (wanted <= sent) return;
    if (send({ type: "read", seq: wanted })) {
      sent = wanted;
      lastSent = Date.now();
    }
  }
  return {
    read(seq) {
      wanted = Math.max(wanted, seq);
      if (wanted <= sent || timer !== null) return;
      timer = setTimeout(flush, Math.max(0, lastSent + READ_EVERY_MS - Date.now()));
    },
    readElsewhere(seq) {
      wanted = Math.max(wanted, seq);
      sent = Math.max(sent, seq);
    },
    retry: flush,
  };
})();

const announcer = $("copy-feedback");
const announce = (text) => {
  announcer.textContent = text;
  setTimeout(() => (announcer.textContent = ""), 4000);
};
const typing = createTypingIndicator({ el: $("typing"), me });
const members = createMemberList({
  list: $("member-list"),
  counts: [$("member-count"), $("members-toggle-count")],
  toggle: $("members-toggle"),
  layout: $("room-layout"),
  me,
});
const messages = createMessageLog({
  log: $("log"),
  list: $("messages"),
  pendingList: $("pending"),
  jump: $("jump-latest"),
  olderText: $("history-text"),
  olderButton: $("load-older"),
  me,
  renderer,
  boot,
  send,
  onRead: (seq) => reader.read(seq),
  learnName,
});
const mentions = createMentionAutocomplete({
  input: $("composer-input"),
  listbox: $("mention-list"),
  candidates: () => {
    const present = Array.from($("member-list").children, (li) => ({ id: li.dataset.id, name: names.get(li.dataset.id) }));
    const others = Array.from(names, ([id, name]) => ({ id, name }));
    return [...present, ...others].filter((member) => member.id !== me.id && member.name);
  },
});
const editWindowMs = boot.edit_window * 1000;
let actions = null;
const composer = createComposer({
  form: $("composer"),
  input: $("composer-input"),
  counter: $("composer-count"),
  error: $("composer-error"),
  context: $("composer-context"),
  maxLength: boot.max_length,
  roomCode: boot.code,
  send,
  messages,
  onTyping: createTypingSender(send),
  mentions,
  canEdit: (frame) => actions.canEdit(frame),
});
actions = createMessageActions({
  list: $("messages"),
  menu: $("message-menu"),
  picker: $("emoji-picker"),
  confirm: $("confirm-delete"),
  me,
  roomCode: boot.code,
  editWindowMs,
  messages,
  send,
  composer,
  announce,
});
const notifier = createNotifier({
  select: $("notify-setting"),
  allow: $("notify-allow"),
  hint: $("notify-hint"),
  roomLabel: document.querySelector(".room-title h1").textContent.trim(),
  roomCode: boot.code,
  me,
});
const moderation = createModeration({
  me,
  boot,
  send,
  announce,
  els: {
    memberList: $("member-list"),
    messageList: $("messages"),
    menu: $("member-menu"),
    dialog: $("moderation-dialog"),
    settings: $("room-settings"),
    reports: $("reports"),
    bansPanel: $("bans"),
    topic: $("room-topic"),
    notice: $("removed-notice"),
  },
});
actions.extend({
  canDelete: (frame) => moderation.mayActOn(frame.author.id),
  report: { shown: (frame) => frame.author.id !== me.id, run: (frame) => moderation.reportMessage(frame) },
});
const rename = setUpRename({ form: $("rename-form"), input: $("rename-input"), error: $("rename-error"), me, send });
setUpCopyLink({ button: $("copy-link"), feedback: $("copy-feedback") });

function onChange(change) {
  if (change.type === "room" || change.type === "member") return moderation.change(change);
  if (change.type === "delete") moderation.frames.delete(change);
  const mine = change.type === "message" && change.author.id === me.id;
  if (mine && change.client_id) composer.confirm(change.client_id);
  if (messages.apply(change) && !mine) {
    typing.clear(change.author.id);
    notifier.noteMessage(change);
  }
}

// Refusals of something other than a message: said where the person acted, never dropped silently.
const ERRORS = {
  kicked: (frame) => moderation.errors.kicked(frame),
  room_locked: (frame) => moderation.errors.room_locked(frame),
  banned: (frame) => (frame.reason !== undefined ? moderation.errors.banned(frame) : composer.failed(frame)),
  invalid_name: (frame) => rename.failed(frame.detail),
  name_taken: (frame) => rename.failed(frame.detail),
  not_found: (frame) => {
    messages.historyFailed();
    composer.showError(frame.detail);
  },
};

const FRAMES = {
  ...moderation.frames,
  join: ({ member }) => {
    moderation.join(member);
    learnName(member);
    members.join(member);
  },
  leave: ({ member }) => {
    members.leave(member);
    typing.clear(member.id);
  },
  rename: ({ member }) => {
    learnName(member);
    members.rename(member);
    messages.renameAuthor(member);
    typing.rename(member);
    if (member.id === me.id) rename.renamed(member);
  },
  typing: ({ member }) => moderation.ignores(member.id) || typing.show(member),
  history: (frame) => messages.showHistory(frame),
  around: (frame) => messages.showAround(frame),
  read: ({ seq }) => {
    reader.readElsewhere(seq);
    messages.readUpTo(seq);
  },
  error: (frame) => {
    if (ERRORS[frame.code]) return ERRORS[frame.code](frame);
    if (frame.code === "rate_limited") messages.historyFailed();
    composer.failed(frame);
  },
};

socket = openRoomSocket({
  path: boot.ws_path,
  seq: boot.seq,
  status: $("status"),
  onChange,
  onHello(hello) {
    Object.assign(me, hello.you);
    hello.members.forEach(learnName);
    moderation.hello(hello);
    members.replace(hello.members);
    messages.reconnected();
    composer.resendAll();
    reader.retry();
    messages.noteReading();
  },
  onFrame: (frame) => FRAMES[frame.type]?.(frame),
});
