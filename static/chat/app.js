/** The room page: reads the server's bootstrap data and wires the modules to the socket. */
import { createComposer } from "./composer.js";
import { createMessageLog } from "./messages.js";
import { createMemberList } from "./presence.js";
import { setUpRename } from "./rename.js";
import { setUpCopyLink } from "./share.js";
import { openRoomSocket } from "./socket.js";
import { createUnreadTitle } from "./title.js";
import { createTypingIndicator, createTypingSender } from "./typing.js";

const HISTORY_PAGE = 50;

const $ = (id) => document.getElementById(id);
const boot = JSON.parse($("chat-bootstrap").textContent);
const me = { ...boot.you }; // shared and updated in place: hello and rename may change it
let socket = null;
const send = (frame) => socket?.send(frame) ?? false;

const title = createUnreadTitle();
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
  hasMore: boot.has_more,
  requestHistory: (before) => send({ type: "history", before, limit: HISTORY_PAGE }),
});
const composer = createComposer({
  form: $("composer"),
  input: $("composer-input"),
  counter: $("composer-count"),
  error: $("composer-error"),
  maxLength: boot.max_length,
  roomCode: boot.code,
  send,
  messages,
  onTyping: createTypingSender(send),
});
const rename = setUpRename({ form: $("rename-form"), input: $("rename-input"), error: $("rename-error"), me, send });
setUpCopyLink({ button: $("copy-link"), feedback: $("copy-feedback") });

function onChange(change) {
  const mine = change.type === "message" && change.author.id === me.id;
  if (mine && change.client_id) composer.confirm(change.client_id);
  if (messages.apply(change) && !mine) {
    typing.clear(change.author.id);
    title.noteNew();
  }
}

const ERRORS = {
  invalid_name: (frame) => rename.failed(frame.detail),
  not_found: () => messages.historyFailed(),
};

const FRAMES = {
  join: ({ member }) => members.join(member),
  leave: ({ member }) => {
    members.leave(member);
    typing.clear(member.id);
  },
  rename: ({ member }) => {
    members.rename(member);
    messages.renameAuthor(member);
    typing.rename(member);
    if (member.id === me.id) rename.renamed(member);
  },
  typing: ({ member }) => typing.show(member),
  history: (frame) => messages.showHistory(frame),
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
    members.replace(hello.members);
    messages.reconnected();
    composer.resendAll();
  },
  onFrame: (frame) => FRAMES[frame.type]?.(frame),
});
