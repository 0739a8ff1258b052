"""Checks a server frame against the shapes in docs/protocol.md."""

MEMBER = {"id": str, "name": str, "avatar": str}


def _check_member(member):
    assert isinstance(member, dict) and set(member) == set(MEMBER), member
    for key, kind in MEMBER.items():
        assert isinstance(member[key], kind), member
    assert member["avatar"] == f"/avatars/{member['id']}.svg"


def _check_message(frame):
    assert set(frame) == {"type", "id", "seq", "client_id", "author", "body", "sent_at"}, frame
    assert isinstance(frame["id"], int) and isinstance(frame["seq"], int)
    assert frame["client_id"] is None or isinstance(frame["client_id"], str)
    assert isinstance(frame["body"], str) and isinstance(frame["sent_at"], str)
    _check_member(frame["author"])


def _check_change(frame):
    if frame["type"] == "message":
        _check_message(frame)
    else:
        assert frame["type"] == "delete" and set(frame) == {"type", "id", "seq"}, frame


def _check_list(frame, key="messages"):
    assert isinstance(frame[key], list) and isinstance(frame["has_more"], bool)
    for change in frame[key]:
        _check_change(change)


def assert_valid_frame(frame):
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
    kind = frame["type"]
    if kind == "hello":
        assert set(frame) == {"type", "you", "room", "members", "messages", "has_more"}, frame
        _check_member(frame["you"])
        assert set(frame["room"]) == {"code", "seq"} and isinstance(frame["room"]["seq"], int)
        for member in frame["members"]:
            _check_member(member)
        _check_list(frame)
    elif kind == "message":
        _check_message(frame)
    elif kind == "delete":
        _check_change(frame)
    elif kind in {"join", "leave", "typing"}:
        assert set(frame) == {"type", "member"}, frame
        _check_member(frame["member"])
    elif kind == "rename":
        assert set(frame) == {"type", "member", "old_name"}, frame
        _check_member(frame["member"])
    elif kind == "history":
        assert set(frame) == {"type", "messages", "has_more"}, frame
        _check_list(frame)
    elif kind == "sync":
        assert set(frame) == {"type", "seq", "messages", "has_more"}, frame
        _check_list(frame)
    elif kind == "tick":
        assert set(frame) - {"delayed"} == {"type", "seq"} and isinstance(frame["seq"], int), frame
        assert frame.get("delayed", True) is True, frame
    elif kind == "error":
        assert set(frame) - {"client_id", "retry_after_ms"} == {"type", "code", "detail"}, frame
        assert isinstance(frame["code"], str) and isinstance(frame["detail"], str)
        assert isinstance(frame.get("client_id", ""), str)
        assert isinstance(frame.get("retry_after_ms", 0), int) and frame.get("retry_after_ms", 0) >= 0
    else:
        raise AssertionError(f"unknown frame type {kind!r}")
