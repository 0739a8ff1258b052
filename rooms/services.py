"""Every write and every broadcast of the chat. Plain functions with keyword arguments.

Views, the consumer and the admin all come through here, so a moderator's delete in the admin
reaches open pages exactly like any other change.
"""
import secrets
from collections import defaultdict, namedtuple
from dataclasses import dataclass
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from rooms import avatars, codes, names, protocol, selectors, store
from rooms.errors import ChatError
from rooms.live import doorway
from rooms.models import Identity, Message, Presence, Room

CODE_ATTEMPTS = 50


class RoomCodesExhausted(ChatError):
    def __init__(self):
        super().__init__("codes_exhausted", "Every room code is taken just now, so no new room can be made. "
                                            "Joining a room with its code still works.")


# ---- identities ----

def identity_name_clean(*, name):
    """A name as a person typed it -> the name to store, or None for 'give me a random one'."""
    try:
        return names.clean_name(name, settings.CHAT_NAME_MAX_LENGTH)
    except ValueError as exc:
        raise ChatError(protocol.INVALID_NAME, str(exc)) from None


def identity_create(*, name=None):
    """A new identity with a row (it acted: it was given a name, or it is about to write)."""
    return Identity.objects.create(
        public_id=secrets.token_urlsafe(12),
        name=name or names.random_name(),
        avatar_seed=avatars.new_seed(),
        acted_at=timezone.now(),
    )


def identity_store(*, identity):
    """Give an identity that lives only in its cookie (rooms/identities.py) its row, at its first
    act; `identity` gets the row's pk. Another tab may have stored it first: then that row."""
    if identity.pk is not None:
        return identity
    row = Identity.objects.filter(public_id=identity.public_id).first()
    if row is None:
        try:
            with transaction.atomic():
                row = Identity.objects.create(public_id=identity.public_id, name=identity.name,
                                              avatar_seed=identity.avatar_seed, acted_at=timezone.now())
        except IntegrityError:
            row = Identity.objects.get(public_id=identity.public_id)
    identity.pk, identity.name, identity.acted_at = row.pk, row.name, row.acted_at
    return identity


def identity_rename(*, identity, name):
    """Rename (storing an identity that had no row yet) and tell every room the identity is in.
    Raises ChatError for an unusable name."""
    clean = identity_name_clean(name=name)
    if clean is None:
        raise ChatError(protocol.INVALID_NAME, "The name needs at least one visible character.")
    with transaction.atomic():
        old_name = Identity.objects.filter(public_id=identity.public_id).values_list("name", flat=True).first()
        if old_name is None:
            old_name = identity.name
            identity.pk = None
            identity_store(identity=identity)
        identity.name = clean
        Identity.objects.filter(pk=identity.pk).update(name=clean)
        if old_name == clean:
            return identity
        Presence.objects.filter(public_id=identity.public_id).update(name=clean)
        frame = protocol.rename(identity, old_name)
        room_codes = Room.objects.filter(presences__public_id=identity.public_id).values_list("code", flat=True).distinct()
        for code in room_codes:
            doorway.publish_on_commit(code, frame)
    return identity


def identities_prune(*, older_than):
    """Delete identities that never acted (made by page loads before rooms/identities.py), wrote
    nothing and are not present, made before `older_than`. Returns how many."""
    idle = Identity.objects.filter(acted_at__isnull=True, created_at__lt=older_than, messages__isnull=True,
                                   presences__isnull=True)
    return Identity.objects.filter(pk__in=idle.values("pk")).delete()[1].get("rooms.Identity", 0)


# ---- rooms ----

def room_create(*, length=None, generate=codes.random_code):
    """A new room under a fresh random code; gives up after a bounded number of collisions."""
    length = length or settings.ROOM_CODE_LENGTH
    reserved = {settings.CHAT_LOBBY_CODE.upper()}
    for _ in range(CODE_ATTEMPTS):
        code = generate(length)
        if code in reserved or Room.objects.filter(code=code).exists():
            continue
        try:
            with transaction.atomic():
                return Room.objects.create(code=code)
        except IntegrityError:
            continue
    raise RoomCodesExhausted()


# ---- messages ----

@dataclass(frozen=True)
class MessageRequest:
    """One message a member asked to send."""

    room: Room
    author: Identity
    body: str
    client_id: str | None = None


def messages_store(*, requests):
    """Store a batch of messages in one transaction (the writer's group commit; to send a
    message, call rooms.live.writer.message_send, which comes here).

    Returns (results, frames_by_room): per request either (message frame, created) or a
    ChatError, and the frames of the new messages per room code, to publish after commit.
    A repeated client_id from the same author gives the stored message, so a client can resend
    safely after a reconnect. Authors appear under the names they have now (read once per
    batch), whichever socket or worker they renamed on.
    """
    results = [None] * len(requests)
    frames_by_room = defaultdict(list)
    with transaction.atomic():
        stored = _stored_by_client_id(requests)
        fresh = defaultdict(list)  # room -> [(index, request)]
        claimed = {}
        for index, request in enumerate(requests):
            key = (request.author.id, request.client_id)
            if request.client_id is None:
                fresh[request.room].append((index, request))
            elif key in stored:
                results[index] = _repeat(stored[key], request)
            elif key in claimed:
                results[index] = claimed[key]  # the same message twice in one batch
            else:
                claimed[key] = index
                fresh[request.room].append((index, request))
        now = timezone.now()
        authors = store.identity_names({request.author.id for items in fresh.values() for _, request in items})
        # Lock the rooms in one global order (by id): two workers whose batches touch the same
        # rooms would otherwise each hold one row and wait for the other (PostgreSQL deadlock).
        for room, items in sorted(fresh.items(), key=lambda pair: pair[0].id):
            for (index, request), seq, message_id in _insert_without_gaps(room, items, now, results):
                author = _Author(request.author.public_id, authors[request.author.id])
                # What the frame needs, without building a model instance per message.
                frame = protocol.message(_Stored(message_id, seq, request.client_id, author, request.body, now))
                results[index] = (frame, True)
                frames_by_room[room.code].append(frame)
    for index, result in enumerate(results):
        if isinstance(result, int):
            results[index] = results[result]
    return results, dict(frames_by_room)


_Stored = namedtuple("_Stored", "id seq client_id author body sent_at")  # a new message, as protocol.message reads it
_Author = namedtuple("_Author", "public_id name")  # its author, as protocol.member reads it


def _insert_without_gaps(room, items, now, results):
    """Insert one room's new messages under consecutive seqs -> [((index, request), seq, id)].

    A row whose (author, client_id) another worker stored after our check (a resend racing on
    two workers) is skipped by the insert. Its seq would stay a gap in the room's history that
    every socket's order waits on: so the room's seqs are given back (the row lock is still
    ours), the others stored again, and the repeat answered with the stored message.
    """
    while items:
        first = store.take_seqs(room.id, len(items))
        rows = [(room.id, r.author.id, r.body, now, r.client_id, first + n) for n, (_, r) in enumerate(items)]
        ids = store.insert_messages(rows)
        if len(ids) == len(rows):
            return [(item, row[5], ids[row[5]]) for item, row in zip(items, rows, strict=True)]
        store.give_back_seqs(room.id, first, list(ids.values()))
        for (index, request), row in zip(items, rows, strict=True):
            if row[5] not in ids:
                key = (request.author.id, request.client_id)
                results[index] = _repeat(_stored_by_client_id([request])[key], request)
        items = [item for item, row in zip(items, rows, strict=True) if row[5] in ids]
    return []


def _stored_by_client_id(requests):
    taken = store.client_ids_taken({(r.author.id, r.client_id) for r in requests if r.client_id is not None})
    keyed = [r for r in requests if (r.author.id, r.client_id) in taken]
    if not keyed:
        return {}
    rows = Message.objects.filter(
        author_id__in={r.author.id for r in keyed}, client_id__in={r.client_id for r in keyed}
    ).select_related("author")
    return {(m.author_id, m.client_id): m for m in rows}


def _repeat(stored, request):
    if stored.room_id != request.room.id:
        return ChatError(protocol.INVALID_FIELD, "That client_id was used in another room.")
    if stored.deleted_seq is not None:
        return ChatError(protocol.NOT_FOUND, "That message was removed.")
    return protocol.message(stored), False


def message_delete(*, message):
    """Remove a message (a moderator's or its author's wish): clear it, keep a tombstone with a seq."""
    with transaction.atomic():
        room = Room.objects.get(pk=message.room_id)
        seq = store.take_seqs(room.id, 1)
        updated = Message.objects.filter(pk=message.pk, deleted_seq__isnull=True).update(deleted_seq=seq, body="")
        if not updated:
            transaction.set_rollback(True)
            return
        message.deleted_seq, message.body = seq, ""
        doorway.publish_on_commit(room.code, protocol.delete(message))


# ---- presence and typing ----

def presence_closing(*, channel_name):
    """Mark a socket closed but keep its presence through the leave grace (a refresh is no leave)."""
    Presence.objects.filter(channel_name=channel_name).update(closing_at=timezone.now())


def presence_disconnect(*, channel_name):
    """Drop a socket's presence; announce a leave if it was the identity's last one in the room."""
    with transaction.atomic():
        row = Presence.objects.filter(channel_name=channel_name).select_related("room").first()
        if row is None:
            return
        store.lock_member(row.room_id, row.public_id)
        row.delete()
        if not Presence.objects.in_room(row.room).filter(public_id=row.public_id).exists():
            doorway.publish_on_commit(row.room.code, protocol.presence("leave", row))


def presence_heartbeat(*, channel_names):
    """Mark this worker's sockets as still open (one UPDATE per chunk, not one per socket)."""
    now = timezone.now()
    for start in range(0, len(channel_names), 500):
        Presence.objects.filter(channel_name__in=channel_names[start : start + 500]).update(seen_at=now)


def presence_sweep(*, timeout):
    """Drop presence that no worker refreshed for `timeout` seconds (its worker died) and announce leaves."""
    cutoff = timezone.now() - timedelta(seconds=timeout)
    for channel_name in Presence.objects.seen_before(cutoff).values_list("channel_name", flat=True):
        presence_disconnect(channel_name=channel_name)


@dataclass(frozen=True)
class SocketArrival:
    """A socket about to get its hello: its room, its identity, its presence row's name, and the
    seq it resumes after (None for the latest page)."""

    room: Room
    identity: Identity
    channel_name: str
    after: int | None = None


def sockets_open(*, arrivals):
    """Record many sockets' presence and answer their hellos at once: the handshakes that arrive
    together (a restart brings thousands) share one transaction and, per room, one members query,
    one latest page and one `?after=` read per distinct seq; the parts every hello of a room
    shares are serialized once. Returns each arrival's (hello as JSON text, the hello's seq), in order.

    A join is announced only for a member's first socket in the room (one frame list per room),
    decided one member at a time (store.lock_members), so two tabs opening together announce one."""
    with transaction.atomic():
        store.lock_members(sorted({(a.room.id, a.identity.public_id) for a in arrivals}))
        here = set(
            Presence.objects.filter(room_id__in={a.room.id for a in arrivals},
                                    public_id__in={a.identity.public_id for a in arrivals})
            .values_list("room_id", "public_id")
        )
        now = timezone.now()
        Presence.objects.bulk_create([
            Presence(room=a.room, identity_id=a.identity.pk, public_id=a.identity.public_id, name=a.identity.name,
                     avatar_seed=a.identity.avatar_seed, channel_name=a.channel_name, seen_at=now)
            for a in arrivals
        ])
        joins = defaultdict(list)
        for a in arrivals:
            if (a.room.id, a.identity.public_id) not in here:
                here.add((a.room.id, a.identity.public_id))
                joins[a.room.code].append(protocol.presence("join", a.identity))
        for code, frames in joins.items():
            doorway.publish_on_commit(code, frames)
    return _hellos(arrivals)


def _hellos(arrivals):
    """The hello texts of arrivals whose presence is committed: shared parts read and serialized once per room."""
    texts = [None] * len(arrivals)
    by_room = defaultdict(list)
    for index, arrival in enumerate(arrivals):
        by_room[arrival.room].append((index, arrival))
    for room, items in by_room.items():
        members = protocol.dumps([protocol.member(m) for m in selectors.members_present(room)])
        pages = {}  # after -> (seq, messages JSON, has_more)
        for index, arrival in items:
            if arrival.after not in pages:
                if arrival.after is None:
                    seq = selectors.room_seq(room)
                    rows, has_more = selectors.messages_latest(room, upto=seq)
                    frames = [protocol.message(m) for m in rows]
                else:
                    seq, frames, has_more = selectors.changes_after(room, arrival.after)
                pages[arrival.after] = (seq, protocol.dumps(frames), has_more)
            seq, messages, has_more = pages[arrival.after]
            texts[index] = (protocol.hello_text(arrival.identity, room.code, seq, members, messages, has_more), seq)
    return texts


def room_seqs(*, room_ids):
    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "seq"))


async def typing_notify(*, room_code, identity):
    """Tell the room that the identity is typing (not stored), under the name it has now: it
    may have been renamed in another tab, on another worker."""
    await doorway.publish_now(room_code, protocol.typing(await _as_named_now(identity)))


@database_sync_to_async
def _as_named_now(identity):
    name = Identity.objects.filter(public_id=identity.public_id).values_list("name", flat=True).first()
    return _Author(identity.public_id, name or identity.name)
