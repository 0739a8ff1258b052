"""The WebSocket contract in code: parse and check client frames, build server frames.

Mirrors docs/protocol.md section by section; change both together.
"""
import json
import re

import emoji
from django.conf import settings

from rooms.bots import BOT_ID_PREFIX
from rooms.errors import ChatError

# Error codes (stable; clients may switch on them).
BAD_JSON = "bad_json"
BAD_FRAME = "bad_frame"
UNKNOWN_TYPE = "unknown_type"
INVALID_FIELD = "invalid_field"
EMPTY_MESSAGE = "empty_message"
MESSAGE_TOO_LONG = "message_too_long"
INVALID_NAME = "invalid_name"
RATE_LIMITED = "rate_limited"
NOT_FOUND = "not_found"
BINARY_UNSUPPORTED = "binary_unsupported"
FRAME_TOO_LARGE = "frame_too_large"
UNAVAILABLE = "unavailable"
SERVICE_RESTART = "service_restart"
FORBIDDEN = "forbidden"
EDIT_WINDOW_CLOSED = "edit_window_closed"
TOO_MANY_REACTIONS = "too_many_reactions"
NAME_TAKEN = "name_taken"  # a rename or join name that looks like a protected one (rooms/nametaken.py)

CLOSE_ROOM_NOT_FOUND = 4404
CLOSE_TRY_AGAIN_LATER = 1013  # the database is away, or too many handshakes at once; reconnect after a pause
CLOSE_SERVICE_RESTART = 1012  # the worker is restarting; reconnect after retry_after_ms
CLOSE_REFUSED = 4403  # kicked, banned, or a locked room: the frame before it says why (rooms/moderation.py)

CLIENT_ID_MAX_LENGTH = 64
EXCERPT_LENGTH = 100  # characters of the original that a reply quotes
EMOJI_MAX_LENGTH = 32  # code points: the longest emoji sequence (a ZWJ family with skin tones) has 10
REACTIONS_MAX = 20  # distinct emoji on one message

# Server frames that are changes to a room's history: each carries the room's next `seq`, is
# stored, and is replayed by `?after=` and `sync`; every socket gets them in seq order.
CHANGE_TYPES = frozenset({"message", "delete", "edit", "reactions", "room", "member"})


def dumps(frame):
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


# ---- client -> server ----

def _field(frame, name, kind, required=True, default=None):
    if name not in frame or (not required and frame[name] is None):
        if required:
            raise ChatError(INVALID_FIELD, f"'{name}' is required.")
        return default
    value = frame[name]
    # bool is an int in Python; a JSON true is never a number here.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        kind_name = {str: "text", int: "an integer"}[kind]
        raise ChatError(INVALID_FIELD, f"'{name}' must be {kind_name}.")
    return value


# Unicode categories Cc (C0, DEL, C1) and Cs (lone surrogates), as one character class: one
# search in C per field instead of a category lookup per character.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_BUT_LINES_AND_TABS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _refuse_controls(name, text, pattern=_CONTROLS):
    """Control characters garble terminals and logs; lone surrogates cannot even be stored."""
    found = pattern.search(text)
    if found:
        raise ChatError(INVALID_FIELD, f"'{name}' may not contain control characters (U+{ord(found.group()):04X}).")


def _body(frame):
    body = _field(frame, "body", str).strip()
    _refuse_controls("body", body, _CONTROLS_BUT_LINES_AND_TABS)
    if not body:
        raise ChatError(EMPTY_MESSAGE, "A message needs some text.")
    limit = settings.CHAT_MESSAGE_MAX_LENGTH
    if len(body) > limit:
        raise ChatError(MESSAGE_TOO_LONG, f"A message can be at most {limit} characters.")
    return body


def _id(frame, name="id", required=True):
    value = _field(frame, name, int, required=required)
    if value is not None and value < 1:
        raise ChatError(INVALID_FIELD, f"'{name}' must be a message id (1 or more).")
    return value


def _limit(frame):
    limit = _field(frame, "limit", int, required=False, default=settings.CHAT_PAGE_SIZE)
    if not 1 <= limit <= settings.CHAT_HISTORY_MAX:
        raise ChatError(INVALID_FIELD, f"'limit' must be 1 to {settings.CHAT_HISTORY_MAX}.")
    return limit


def _message(frame):
    body = _body(frame)
    client_id = _field(frame, "client_id", str, required=False)
    if client_id is not None and not 0 < len(client_id) <= CLIENT_ID_MAX_LENGTH:
        raise ChatError(INVALID_FIELD, f"'client_id' must be 1 to {CLIENT_ID_MAX_LENGTH} characters.")
    if client_id is not None:
        _refuse_controls("client_id", client_id)
    return {"body": body, "client_id": client_id, "reply_to": _id(frame, "reply_to", required=False)}


def _edit(frame):
    return {"message_id": _id(frame), "body": _body(frame)}


def _delete(frame):
    return {"message_id": _id(frame)}


def _react(frame):
    value = _field(frame, "emoji", str)
    # The length check first: the emoji library's lookup is then bounded whatever was sent.
    if not 0 < len(value) <= EMOJI_MAX_LENGTH or not emoji.is_emoji(value):
        raise ChatError(INVALID_FIELD, "'emoji' must be one emoji.")
    # One form per emoji: a heart typed without its emoji variation selector (U+FE0F) is the
    # heart the picker sends, not a second reaction beside it.
    return {"message_id": _id(frame), "emoji": emoji.emojize(emoji.demojize(value))}


def _read(frame):
    seq = _field(frame, "seq", int)
    if seq < 0:
        raise ChatError(INVALID_FIELD, "'seq' must be 0 or more.")
    return {"seq": seq}


def _around(frame):
    return {"message_id": _id(frame), "limit": _limit(frame)}


def _rename(frame):
    return {"name": _field(frame, "name", str)}


def _typing(frame):
    return {}


def _history(frame):
    before = _field(frame, "before", int, required=False)
    after = _field(frame, "after", int, required=False)
    if before is not None and after is not None:
        raise ChatError(INVALID_FIELD, "Send 'before' or 'after', not both.")
    return {"before": before, "after": after, "limit": _limit(frame)}


def _sync(frame):
    after = _field(frame, "after", int)
    if after < 0:
        raise ChatError(INVALID_FIELD, "'after' must be 0 or more.")
    return {"after": after}


CLIENT_FRAMES = {
    "message": _message,
    "edit": _edit,
    "delete": _delete,
    "react": _react,
    "read": _read,
    "rename": _rename,
    "typing": _typing,
    "history": _history,
    "around": _around,
    "sync": _sync,
}


def parse_client_frame(text):
    """Text of a client frame -> (type, arguments). Raises ChatError for anything off-contract."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        raise ChatError(BAD_JSON, "Frames must be JSON text.") from None
    if not isinstance(frame, dict):
        raise ChatError(BAD_FRAME, "A frame must be a JSON object with a 'type'.")
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise ChatError(BAD_FRAME, "A frame must be a JSON object with a 'type'.")
    parse = CLIENT_FRAMES.get(kind)
    if parse is None:
        raise ChatError(UNKNOWN_TYPE, f"Unknown frame type {kind[:40]!r}.")
    try:
        return kind, parse(frame)
    except ChatError as exc:
        exc.client_id = echoable_client_id(frame)
        raise


def echoable_client_id(frame):
    """The frame's client_id if it is one the error may carry back, else None."""
    client_id = frame.get("client_id") if frame.get("type") == "message" else None
    if isinstance(client_id, str) and 0 < len(client_id) <= CLIENT_ID_MAX_LENGTH:
        if not _CONTROLS.search(client_id):
            return client_id
    return None


# ---- server -> client ----

def member(identity):
    found = {"id": identity.public_id, "name": identity.name, "avatar": f"/avatars/{identity.public_id}.svg"}
    if identity.public_id.startswith(BOT_ID_PREFIX):
        found["bot"] = True  # only bots carry it (rooms/bots)
    return found


def _time(moment):
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def mention_ids(text):
    """The stored form of a message's mentions (public ids, space-separated) -> the frame's list."""
    return text.split() if text else []


def reply_to(original):
    """What a reply shows of its original: who wrote it and how it began (null once deleted)."""
    if original is None:
        return None
    removed = original.deleted_seq is not None
    return {
        "id": original.id,
        "author": member(original.author),
        "excerpt": None if removed else original.body[:EXCERPT_LENGTH],
    }


def message(msg):
    """A message row (or anything with its fields; the original of a reply as `reply_to`)."""
    return {
        "type": "message",
        "id": msg.id,
        "seq": msg.seq,
        "client_id": msg.client_id,
        "author": member(msg.author),
        "body": msg.body,
        "sent_at": _time(msg.sent_at),
        "edited_at": _time(msg.edited_at),
        "reply_to": reply_to(msg.reply_to) if msg.reply_to_id is not None else None,
        "reactions": msg.reactions or [],
        "mentions": mention_ids(msg.mentions),
    }


def delete(msg):
    return {"type": "delete", "id": msg.id, "seq": msg.deleted_seq}


def edit(msg):
    return {
        "type": "edit",
        "id": msg.id,
        "seq": msg.edited_seq,
        "body": msg.body,
        "edited_at": _time(msg.edited_at),
        "mentions": mention_ids(msg.mentions),
    }


def reactions(msg):
    return {"type": "reactions", "id": msg.id, "seq": msg.reactions_seq, "reactions": msg.reactions or []}


def read(seq):
    return {"type": "read", "seq": seq}


def hello(you, room_code, seq, members, messages, has_more, last_read=None):
    return {
        "type": "hello",
        "you": member(you),
        "room": {"code": room_code, "seq": seq, "last_read": last_read},
        "members": [member(m) for m in members],
        "messages": messages,
        "has_more": has_more,
    }


def hello_text(you, room_code, seq, members_json, messages_json, has_more, last_read=None,
               you_role=None, room_extra=None, ignored=None):
    """dumps(hello(...)) with the members and messages already serialized: the handshakes of
    one room share them (services.sockets_open), so each is serialized once, not per socket.
    Moderation adds the identity's role, the room's settings and moderators, and its ignore list."""
    you_frame = member(you) if you_role is None else dict(member(you), role=you_role)
    room = {"code": room_code, "seq": seq, "last_read": last_read, **(room_extra or {})}
    return (
        '{"type":"hello","you":' + dumps(you_frame)
        + ',"room":' + dumps(room)
        + ',"members":' + members_json + ',"messages":' + messages_json
        + ',"has_more":' + ("true" if has_more else "false")
        + ("" if ignored is None else ',"ignored":' + dumps(ignored)) + "}"
    )


def presence(kind, identity, role=None):
    return {"type": kind, "member": member(identity) if role is None else dict(member(identity), role=role)}


def rename(identity, old_name):
    return {"type": "rename", "member": member(identity), "old_name": old_name}


def typing(identity):
    return {"type": "typing", "member": member(identity)}


def history(messages, has_more, before=None, after=None):
    """A page of messages: older than `before`, newer than `after`, or the latest (neither)."""
    frame = {"type": "history", "messages": messages, "has_more": has_more}
    if before is not None:
        frame["before"] = before
    if after is not None:
        frame["after"] = after
    return frame


def around(message_id, messages, has_more, has_more_after):
    return {
        "type": "around",
        "id": message_id,
        "messages": messages,
        "has_more": has_more,
        "has_more_after": has_more_after,
    }


def sync(seq, changes, has_more):
    return {"type": "sync", "seq": seq, "messages": changes, "has_more": has_more}


def tick(seq, delayed=False):
    frame = {"type": "tick", "seq": seq}
    if delayed:
        frame["delayed"] = True  # the channel layer is failing: live frames are not getting through
    return frame


def error(code, detail, client_id=None, retry_after_ms=None):
    frame = {"type": "error", "code": code, "detail": detail}
    if client_id is not None:
        frame["client_id"] = client_id
    if retry_after_ms is not None:
        frame["retry_after_ms"] = retry_after_ms  # come back no sooner than this
    return frame


# ---- moderation (rooms/moderation.py; docs/protocol.md "Moderation") ----

ROLES = ("owner", "moderator", "member")
MODERATION_REASON_MAX = 200
TOPIC_MAX = 200


def _member_id(frame):
    value = _field(frame, "member", str)
    if not 0 < len(value) <= 32:
        raise ChatError(INVALID_FIELD, "'member' must be a member's id.")
    return value


def _reason(frame, required=False):
    value = _field(frame, "reason", str, required=False, default="").strip()
    _refuse_controls("reason", value)
    if len(value) > MODERATION_REASON_MAX:
        raise ChatError(INVALID_FIELD, f"'reason' can be at most {MODERATION_REASON_MAX} characters.")
    if required and not value:
        raise ChatError(INVALID_FIELD, "'reason' is required.")
    return value


def _seconds(frame, name, low, high, nullable=False):
    if nullable and frame.get(name) is None:
        if name not in frame:
            raise ChatError(INVALID_FIELD, f"'{name}' is required (null: for good).")
        return None
    value = _field(frame, name, int)
    if not low <= value <= high:
        raise ChatError(INVALID_FIELD, f"'{name}' must be {low} to {high} seconds.")
    return value


def _bool(frame, name):
    value = frame.get(name)
    if not isinstance(value, bool):
        raise ChatError(INVALID_FIELD, f"'{name}' must be true or false.")
    return value


def _role(frame):
    role = _field(frame, "role", str)
    if role not in ("moderator", "member"):
        raise ChatError(INVALID_FIELD, "'role' must be \"moderator\" or \"member\".")
    return {"member_id": _member_id(frame), "role": role}


def _mute(frame):
    return {"member_id": _member_id(frame), "seconds": _seconds(frame, "seconds", 0, 30 * 24 * 3600),
            "reason": _reason(frame)}


def _kick(frame):
    return {"member_id": _member_id(frame), "reason": _reason(frame)}


def _ban(frame):
    return {"member_id": _member_id(frame), "seconds": _seconds(frame, "seconds", 1, 10 * 365 * 24 * 3600, nullable=True),
            "reason": _reason(frame)}


def _unban(frame):
    ban = _field(frame, "ban", int)
    if ban < 1:
        raise ChatError(INVALID_FIELD, "'ban' must be a ban's id.")
    return {"ban_id": ban}


def _nothing(frame):
    return {}


def _room(frame):
    args = {}
    if "topic" in frame:
        topic = _field(frame, "topic", str).strip()
        _refuse_controls("topic", topic)
        if len(topic) > TOPIC_MAX:
            raise ChatError(INVALID_FIELD, f"'topic' can be at most {TOPIC_MAX} characters.")
        args["topic"] = topic
    if "slowmode" in frame:
        args["slowmode"] = _seconds(frame, "slowmode", 0, 3600)
    if "locked" in frame:
        args["locked"] = _bool(frame, "locked")
    if not args:
        raise ChatError(INVALID_FIELD, "Send 'topic', 'slowmode' or 'locked'.")
    return args


def _report(frame):
    return {"message_id": _id(frame), "reason": _reason(frame)}


def _dismiss(frame):
    report_id = _field(frame, "report", int)
    if report_id < 1:
        raise ChatError(INVALID_FIELD, "'report' must be a report's id.")
    return {"report_id": report_id}


def _ignore(frame):
    return {"member_id": _member_id(frame), "on": _bool(frame, "on")}


CLIENT_FRAMES.update({
    "role": _role,
    "mute": _mute,
    "kick": _kick,
    "ban": _ban,
    "unban": _unban,
    "bans": _nothing,
    "room": _room,
    "report": _report,
    "reports": _nothing,
    "dismiss": _dismiss,
    "ignore": _ignore,
})


def member_changed(identity, role, muted_until, seq):
    """A member's role or mute changed (a room change: it has the room's seq)."""
    return {"type": "member", "seq": seq,
            "member": dict(member(identity), role=role, muted_until=_time(muted_until))}


def room_changed(room, seq):
    """The room's topic, slow mode or lock changed (a room change: it has the room's seq)."""
    return {"type": "room", "seq": seq, "topic": room.topic, "slowmode": room.slowmode, "locked": room.locked}


def report(row, msg, reporter):
    return {"type": "report", "report": row.pk, "message": message(msg), "reason": row.reason,
            "reporter": member(reporter), "created_at": _time(row.created_at)}


def reports_list(reports):
    return {"type": "reports", "reports": reports}


def bans_list(rows):
    return {"type": "bans", "bans": [
        {"id": row.pk, "name": row.name, "reason": row.reason, "created_at": _time(row.created_at),
         "until": _time(row.expires_at)} for row in rows
    ]}


def ignored(ids):
    return {"type": "ignored", "ignored": ids}
