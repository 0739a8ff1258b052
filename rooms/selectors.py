"""Reads shared by the views and the consumer; each returns plain rows or protocol frames."""
from django.conf import settings

from rooms import lobby, protocol
from rooms.codes import looks_like_code, normalize_code
from rooms.errors import ChatError
from rooms.models import Identity, Message, Presence, Room


def room_by_code(code):
    """The room for a code as typed (any case, spaces trimmed), or None."""
    code = normalize_code(code)
    if not looks_like_code(code):
        return None
    if lobby.is_lobby_code(code):
        # The lobby exists for everyone from the first visit on, and not at all when turned off.
        return lobby.room() if lobby.enabled() else None
    return Room.objects.filter(code=code).first()


def rooms_by_codes(codes):
    """{code as typed: room or None} for many codes at once (one query, plus the lobby)."""
    wanted = {code: normalize_code(code) for code in codes}
    plain = {c for c in wanted.values() if looks_like_code(c) and not lobby.is_lobby_code(c)}
    rows = {room.code: room for room in Room.objects.filter(code__in=plain)} if plain else {}
    found = {}
    for typed, code in wanted.items():
        if lobby.is_lobby_code(code) and looks_like_code(code):
            found[typed] = lobby.room() if lobby.enabled() else None
        else:
            found[typed] = rows.get(code)
    return found


def identity_by_public_id(public_id):
    if not isinstance(public_id, str) or not public_id:
        return None
    return Identity.objects.filter(public_id=public_id).first()


def avatar_seed_of(public_id):
    """The avatar seed of a public id: its identity's, or, for an identity that has no row yet,
    that of a socket of it that is open somewhere; None if the id is not known at all."""
    if not isinstance(public_id, str) or not public_id:
        return None
    seed = Identity.objects.filter(public_id=public_id).values_list("avatar_seed", flat=True).first()
    return seed or Presence.objects.filter(public_id=public_id).values_list("avatar_seed", flat=True).first()


def messages_latest(room, limit=None, upto=None):
    """The newest `limit` visible messages (up to seq `upto`), oldest first, and whether older ones exist."""
    limit = limit or settings.CHAT_PAGE_SIZE
    rows = Message.objects.in_room(room).visible()
    if upto is not None:
        rows = rows.filter(seq__lte=upto)
    rows = list(rows.latest_first().with_author()[: limit + 1])
    return rows[:limit][::-1], len(rows) > limit


def messages_before(room, before_id, limit):
    """Up to `limit` visible messages older than message `before_id`, oldest first."""
    anchor = Message.objects.in_room(room).filter(id=before_id).values_list("seq", flat=True).first()
    if anchor is None:
        raise ChatError(protocol.NOT_FOUND, "No such message in this room.")
    rows = list(
        Message.objects.in_room(room).visible().before_seq(anchor).latest_first().with_author()[: limit + 1]
    )
    return rows[:limit][::-1], len(rows) > limit


def room_seq(room):
    return Room.objects.filter(pk=room.pk).values_list("seq", flat=True).get()


def changes_after(room, after, limit=None):
    """The changes with seq > `after`, in seq order, as frames; the seq they bring a client to.

    The room's seq is read first and bounds both queries: every change up to it had committed
    when it was read, so a client that takes the returned seq has missed nothing below it.
    Returns (seq, frames, has_more); with has_more the client asks again from the returned seq.
    """
    upto = room_seq(room)
    frames, reached = changes_between(room, after, upto, limit)
    return reached, frames, reached < upto


def changes_between(room, after, upto, limit=None):
    """The changes with `after` < seq <= `upto` (all committed), at most `limit`, as frames in seq
    order, and the seq they reach: `upto`, or the last one's when the limit cut them short."""
    limit = limit or settings.CHAT_SYNC_MAX
    in_window = Message.objects.in_room(room)
    created = list(
        in_window.visible().after_seq(after).filter(seq__lte=upto).order_by("seq").with_author()[: limit + 1]
    )
    deleted = list(
        in_window.deleted_after_seq(after).filter(deleted_seq__lte=upto).order_by("deleted_seq")[: limit + 1]
    )
    changes = sorted(
        [(m.seq, protocol.message(m)) for m in created] + [(m.deleted_seq, protocol.delete(m)) for m in deleted],
        key=lambda pair: pair[0],
    )
    if len(changes) > limit:
        changes = changes[:limit]
        return [frame for _, frame in changes], changes[-1][0]
    return [frame for _, frame in changes], upto


def members_present(room):
    """The members with at least one open socket in the room, in the order they arrived (their
    presence rows, which carry public id, name and avatar seed: protocol.member reads them)."""
    seen = {}
    for row in Presence.objects.in_room(room).order_by("connected_at", "id"):
        seen.setdefault(row.public_id, row)
    return list(seen.values())
