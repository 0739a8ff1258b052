"""Reads shared by the views and the consumer; each returns plain rows or protocol frames."""
from collections import defaultdict

from django.conf import settings
from django.db.models import Q

from rooms import lobby, mentions, protocol, store
from rooms.codes import looks_like_code, normalize_code
from rooms.errors import ChatError
from rooms.models import Identity, Membership, Message, ModerationLog, Presence, Room


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


def _anchor_seq(room, message_id, visible=False):
    rows = Message.objects.in_room(room).filter(id=message_id)
    if visible:
        rows = rows.visible()
    seq = rows.values_list("seq", flat=True).first()
    if seq is None:
        raise ChatError(protocol.NOT_FOUND, "No such message in this room.")
    return seq


def _older(room, seq, limit):
    rows = list(Message.objects.in_room(room).visible().before_seq(seq).latest_first().with_author()[: limit + 1])
    return rows[:limit][::-1], len(rows) > limit


def _newer(room, seq, limit):
    rows = list(Message.objects.in_room(room).visible().after_seq(seq).order_by("seq").with_author()[: limit + 1])
    return rows[:limit], len(rows) > limit


def messages_before(room, before_id, limit):
    """Up to `limit` visible messages older than message `before_id`, oldest first."""
    return _older(room, _anchor_seq(room, before_id), limit)


def messages_after(room, after_id, limit):
    """Up to `limit` visible messages newer than message `after_id`, oldest first, and whether more follow."""
    return _newer(room, _anchor_seq(room, after_id), limit)


def messages_around(room, message_id, limit):
    """A page of `limit` visible messages centred on one (which must be visible), oldest first:
    (rows, whether older ones exist, whether newer ones exist). Two index range scans from the
    message's seq, however far back it is."""
    seq = _anchor_seq(room, message_id, visible=True)
    older_count = (limit - 1) // 2
    older, more_before = _older(room, seq, older_count) if older_count else ([], _exists_before(room, seq))
    newer, more_after = _newer(room, seq - 1, limit - len(older))
    return older + newer, more_before, more_after


def _exists_before(room, seq):
    return Message.objects.in_room(room).visible().before_seq(seq).exists()


def message_in_room(room, message_id):
    """A visible message of the room, or None."""
    return Message.objects.in_room(room).visible().filter(id=message_id).with_author().first()


def mentions_in(room_id, body):
    """The stored form of the body's mentions in this room (space-separated public ids) or None."""
    keys = mentions.candidate_keys(body)
    ids = mentions.resolve(body, store.mentionable(room_id, keys)) if keys else []
    return " ".join(ids) or None


def last_read(room, identity):
    """The last seq the identity has read in the room, or None if it never said (or has no row)."""
    if identity.pk is None:
        return None
    return Membership.objects.filter(room=room, identity=identity).values_list("last_read", flat=True).first()


def last_reads(room, identity_ids):
    """{identity id: last read seq} in the room, for many identities (one query)."""
    if not identity_ids:
        return {}
    return dict(Membership.objects.filter(room=room, identity_id__in=identity_ids).values_list("identity_id", "last_read"))


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
    # Each message keeps only its latest edit and reactions seq: one frame of the final state
    # each. A message deleted since shows only as its delete.
    edited = list(
        in_window.visible().edited_after_seq(after).filter(edited_seq__lte=upto).order_by("edited_seq")[: limit + 1]
    )
    reacted = list(
        in_window.visible().reacted_after_seq(after).filter(reactions_seq__lte=upto).order_by("reactions_seq")[: limit + 1]
    )
    moderated = list(  # room and member changes (rooms/moderation.py): the frame they were sent as
        ModerationLog.objects.filter(room=room, seq__gt=after, seq__lte=upto).order_by("seq")
        .values_list("seq", "frame")[: limit + 1]
    )
    changes = sorted(
        [(m.seq, protocol.message(m)) for m in created]
        + [(m.deleted_seq, protocol.delete(m)) for m in deleted]
        + [(m.edited_seq, protocol.edit(m)) for m in edited]
        + [(m.reactions_seq, protocol.reactions(m)) for m in reacted]
        + moderated,
        key=lambda pair: pair[0],
    )
    if len(changes) > limit:
        changes = changes[:limit]
        return [frame for _, frame in changes], changes[-1][0]
    return [frame for _, frame in changes], upto


def changes_after_many(pairs, limit=None):
    """changes_after for many (room, after) pairs at once: {(room id, after): (seq, frames,
    has_more)}. A restart's reconnects resume in many rooms at once, each from a recent seq: a
    window of at most `limit` seqs holds at most `limit` changes of each kind (seqs are unique
    in a room), so all such windows are read together, one query per kind for all rooms. A
    longer window (a client far behind) is read on its own, with its limit."""
    limit = limit or settings.CHAT_SYNC_MAX
    rooms = {room.id: room for room, _ in pairs}
    seqs = room_seqs(rooms)
    found, short = {}, []
    for room, after in set((rooms[room.id], after) for room, after in pairs):
        upto = seqs[room.id]
        if upto - after > limit:
            frames, reached = changes_between(room, after, upto, limit)
            found[room.id, after] = (reached, frames, reached < upto)
        else:
            short.append((room.id, after, upto))
    if not short:
        return found
    windows = {kind: Q() for kind in ("seq", "deleted_seq", "edited_seq", "reactions_seq")}
    for room_id, after, upto in short:
        for kind in windows:
            windows[kind] |= Q(room_id=room_id, **{f"{kind}__gt": after, f"{kind}__lte": upto})
    rows = {
        "seq": Message.objects.visible().filter(windows["seq"]).with_author(),
        "deleted_seq": Message.objects.filter(windows["deleted_seq"]),
        "edited_seq": Message.objects.visible().filter(windows["edited_seq"]),
        "reactions_seq": Message.objects.visible().filter(windows["reactions_seq"]),
    }
    frame_of = {"seq": protocol.message, "deleted_seq": protocol.delete, "edited_seq": protocol.edit,
                "reactions_seq": protocol.reactions}
    by_room = defaultdict(list)
    for kind, query in rows.items():
        for m in query:
            by_room[m.room_id].append((getattr(m, kind), frame_of[kind](m)))
    moderated = Q()
    for room_id, after, upto in short:
        moderated |= Q(room_id=room_id, seq__gt=after, seq__lte=upto)
    for room_id, seq, frame in ModerationLog.objects.filter(moderated).values_list("room_id", "seq", "frame"):
        by_room[room_id].append((seq, frame))
    for room_id, after, upto in short:
        changes = sorted((pair for pair in by_room[room_id] if after < pair[0] <= upto), key=lambda pair: pair[0])
        found[room_id, after] = (upto, [frame for _, frame in changes], False)
    return found


def room_seqs(room_ids):
    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "seq"))


def members_present_many(rooms):
    """members_present for many rooms at once (one query): {room id: [presence rows]}."""
    seen = defaultdict(dict)
    for row in Presence.objects.filter(room__in=rooms).order_by("connected_at", "id"):
        seen[row.room_id].setdefault(row.public_id, row)
    return {room.id: list(seen[room.id].values()) for room in rooms}


def last_reads_many(pairs):
    """{(room id, identity id): last read seq} for many (room, identity id) pairs (one query)."""
    pairs = [(room.id, identity_id) for room, identity_id in pairs if identity_id is not None]
    if not pairs:
        return {}
    rows = Membership.objects.filter(room_id__in={r for r, _ in pairs}, identity_id__in={i for _, i in pairs})
    return {(room_id, identity_id): seq for room_id, identity_id, seq in rows.values_list("room_id", "identity_id", "last_read")}


def members_present(room):
    """The members with at least one open socket in the room, in the order they arrived (their
    presence rows, which carry public id, name and avatar seed: protocol.member reads them)."""
    seen = {}
    for row in Presence.objects.in_room(room).order_by("connected_at", "id"):
        seen.setdefault(row.public_id, row)
    return list(seen.values())


def protected_names(rooms, exclude=None):
    """{name: public id} of the names nobody else may take in these rooms (rooms/nametaken.py):
    the members present in them and the rooms' owners and moderators, present or not, apart from
    the identity `exclude` (a public id) itself."""
    present = Presence.objects.filter(room__in=rooms).exclude(public_id=exclude).values_list("name", "public_id").distinct()
    roles = (Membership.objects.filter(room__in=rooms, role__in=[Membership.OWNER, Membership.MODERATOR])
             .exclude(identity__public_id=exclude).values_list("identity__name", "identity__public_id"))
    return {**dict(present), **dict(roles)}
