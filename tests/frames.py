"""Checks a server frame against the shapes in docs/protocol.md."""

MEMBER = {"id": str, "name": str, "avatar": str}
MESSAGE = {
    "type", "id", "seq", "client_id", "author", "body", "sent_at", "edited_at", "reply_to", "reactions", "mentions",
}


ROLES = {"owner", "moderator", "member"}


def _check_member(member, role=False, muted=False):
    """A Member; with `role` it carries its role in the room (hello, join, member frames), with
    `muted` when its mute ends (member frames). "bot": true marks a bot (docs/bots.md); a
    person's member has no such key."""
    keys = set(MEMBER) | ({"role"} if role else set()) | ({"muted_until"} if muted else set())
    assert isinstance(member, dict) and set(member) - {"bot"} == keys and member.get("bot", True) is True, member
    if role:
        assert member["role"] in ROLES, member
    if muted:
        assert member["muted_until"] is None or isinstance(member["muted_until"], str), member
    for key, kind in MEMBER.items():
        assert isinstance(member[key], kind), member
    assert member["avatar"] == f"/avatars/{member['id']}.svg"


def _check_reactions(reactions):
    assert isinstance(reactions, list) and len(reactions) <= 20, reactions
    assert len({r["emoji"] for r in reactions}) == len(reactions), reactions
    for reaction in reactions:
        assert set(reaction) == {"emoji", "count", "members"}, reaction
        assert isinstance(reaction["emoji"], str) and reaction["emoji"]
        assert all(isinstance(m, str) for m in reaction["members"]), reaction
        assert reaction["count"] == len(reaction["members"]) == len(set(reaction["members"])) >= 1, reaction


def _check_mentions(mentions):
    assert isinstance(mentions, list) and all(isinstance(m, str) for m in mentions), mentions
    assert len(set(mentions)) == len(mentions), mentions


def _check_message(frame):
    assert set(frame) == MESSAGE, frame
    assert isinstance(frame["id"], int) and isinstance(frame["seq"], int)
    assert frame["client_id"] is None or isinstance(frame["client_id"], str)
    assert isinstance(frame["body"], str) and isinstance(frame["sent_at"], str)
    assert frame["edited_at"] is None or isinstance(frame["edited_at"], str)
    _check_member(frame["author"])
    reply = frame["reply_to"]
    if reply is not None:
        assert set(reply) == {"id", "author", "excerpt"} and isinstance(reply["id"], int), reply
        _check_member(reply["author"])
        assert reply["excerpt"] is None or (isinstance(reply["excerpt"], str) and len(reply["excerpt"]) <= 100)
    _check_reactions(frame["reactions"])
    _check_mentions(frame["mentions"])


def _check_change(frame):
    kind = frame["type"]
    if kind == "message":
        _check_message(frame)
    elif kind == "delete":
        assert set(frame) == {"type", "id", "seq"}, frame
    elif kind == "room":
        assert set(frame) == {"type", "seq", "topic", "slowmode", "locked"}, frame
        assert isinstance(frame["topic"], str) and isinstance(frame["slowmode"], int)
        assert isinstance(frame["locked"], bool) and isinstance(frame["seq"], int)
        return
    elif kind == "member":
        assert set(frame) == {"type", "seq", "member"} and isinstance(frame["seq"], int), frame
        _check_member(frame["member"], role=True, muted=True)
        return
    elif kind == "edit":
        assert set(frame) == {"type", "id", "seq", "body", "edited_at", "mentions"}, frame
        assert isinstance(frame["body"], str) and isinstance(frame["edited_at"], str)
        _check_mentions(frame["mentions"])
    elif kind == "reactions":
        assert set(frame) == {"type", "id", "seq", "reactions"}, frame
        _check_reactions(frame["reactions"])
    else:
        raise AssertionError(f"not a change: {frame!r}")
    assert isinstance(frame["id"], int) and isinstance(frame["seq"], int), frame


def _check_list(frame, key="messages", changes=True):
    assert isinstance(frame[key], list) and isinstance(frame["has_more"], bool)
    for change in frame[key]:
        if changes:
            _check_change(change)
        else:
            _check_message(change)


def assert_valid_frame(frame):
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
    kind = frame["type"]
    if kind == "hello":
        assert set(frame) == {"type", "you", "room", "members", "messages", "has_more", "ignored"}, frame
        _check_member(frame["you"], role=True)
        room = frame["room"]
        assert set(room) == {"code", "seq", "last_read", "topic", "slowmode", "locked", "moderators"}, room
        assert isinstance(room["seq"], int)
        assert room["last_read"] is None or isinstance(room["last_read"], int)
        assert isinstance(room["topic"], str) and isinstance(room["slowmode"], int) and isinstance(room["locked"], bool)
        for member in room["moderators"]:
            _check_member(member, role=True)
            assert member["role"] in {"owner", "moderator"}
        assert isinstance(frame["ignored"], list) and all(isinstance(i, str) for i in frame["ignored"])
        for member in frame["members"]:
            _check_member(member, role=True)
        _check_list(frame)
    elif kind in {"message", "delete", "edit", "reactions", "room", "member"}:
        _check_change(frame)
    elif kind == "join":
        assert set(frame) == {"type", "member"}, frame
        _check_member(frame["member"], role=True)
    elif kind in {"leave", "typing"}:
        assert set(frame) == {"type", "member"}, frame
        _check_member(frame["member"])
    elif kind == "rename":
        assert set(frame) == {"type", "member", "old_name"}, frame
        _check_member(frame["member"])
    elif kind == "read":
        assert set(frame) == {"type", "seq"} and isinstance(frame["seq"], int), frame
    elif kind == "history":
        assert {"type", "messages", "has_more"} <= set(frame) <= {"type", "messages", "has_more", "before", "after"}
        assert not {"before", "after"} <= set(frame), frame
        _check_list(frame, changes=False)
    elif kind == "around":
        assert set(frame) == {"type", "id", "messages", "has_more", "has_more_after"}, frame
        assert isinstance(frame["has_more_after"], bool) and isinstance(frame["id"], int)
        _check_list(frame, changes=False)
        assert frame["id"] in [m["id"] for m in frame["messages"]], frame
    elif kind == "sync":
        assert set(frame) == {"type", "seq", "messages", "has_more"}, frame
        _check_list(frame)
    elif kind == "tick":
        assert set(frame) - {"delayed"} == {"type", "seq"} and isinstance(frame["seq"], int), frame
        assert frame.get("delayed", True) is True, frame
    elif kind == "error" and "reason" in frame:
        assert set(frame) - {"until"} == {"type", "code", "detail", "reason"}, frame
        assert isinstance(frame["reason"], str) and isinstance(frame.get("until") or "", str)
    elif kind == "error":
        assert set(frame) - {"client_id", "retry_after_ms"} == {"type", "code", "detail"}, frame
        assert isinstance(frame["code"], str) and isinstance(frame["detail"], str)
        assert isinstance(frame.get("client_id", ""), str)
        assert isinstance(frame.get("retry_after_ms", 0), int) and frame.get("retry_after_ms", 0) >= 0
    elif kind == "report":
        assert set(frame) == {"type", "report", "message", "reason", "reporter", "created_at"}, frame
        assert isinstance(frame["report"], int) and isinstance(frame["reason"], str)
        _check_message(frame["message"])
        _check_member(frame["reporter"])
    elif kind == "reports":
        assert set(frame) == {"type", "reports"} and isinstance(frame["reports"], list), frame
        for report in frame["reports"]:
            assert_valid_frame(report)
    elif kind == "bans":
        assert set(frame) == {"type", "bans"}, frame
        for ban in frame["bans"]:
            assert set(ban) == {"id", "name", "reason", "created_at", "until"}, ban
    elif kind == "ignored":
        assert set(frame) == {"type", "ignored"} and all(isinstance(i, str) for i in frame["ignored"]), frame
    elif kind == "reported":
        assert set(frame) == {"type", "id"} and isinstance(frame["id"], int), frame
    else:
        raise AssertionError(f"unknown frame type {kind!r}")
