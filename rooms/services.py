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

from rooms import avatars, codes, moderation, names, nametaken, protocol, reactions, selectors, store
from rooms.bots import outbox as bots_outbox
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
    name = name or names.random_name()
    return Identity.objects.create(
        public_id=secrets.token_urlsafe(12),
        name=name,
        name_key=names.name_key(name),
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
                                              name_key=names.name_key(identity.name),
                                              avatar_seed=identity.avatar_seed, acted_at=timezone.now())
        except IntegrityError:
            row = Identity.objects.get(public_id=identity.public_id)
    identity.pk, identity.name, identity.acted_at = row.pk, row.name, row.acted_at
    return identity


def identity_rename(*, identity, name, room=None):
    """Rename (storing an identity that had no row yet) and tell every room the identity is in.
    Raises ChatError for an unusable name, and `name_taken` for one that looks like a protected
    name in `room` or a room the identity is present in (rooms/nametaken.py)."""
    clean = identity_name_clean(name=name)
    if clean is None:
        raise ChatError(protocol.INVALID_NAME, "The name needs at least one visible character.")
    nametaken.name_check(name=clean, rooms=nametaken.rooms_of(identity.public_id, room), public_id=identity.public_id)
    with transaction.atomic():
        row = Identity.objects.filter(public_id=identity.public_id).values_list("pk", "name").first()
        if row is None:
            old_name = identity.name
            identity.pk = None
            identity_store(identity=identity)
        else:
            # Another tab may have given the identity its row since this copy was read.
            identity.pk, old_name = row
        identity.name, identity.name_key = clean, names.name_key(clean)
        Identity.objects.filter(pk=identity.pk).update(name=clean, name_key=identity.name_key)
        if old_name == clean:
            return identity
        Presence.objects.filter(public_id=identity.public_id).update(name=clean, name_key=identity.name_key)
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
    reply_to: int | None = None  # the id of the message this one answers


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
        refused = moderation.message_refusals(requests)  # muted, banned, slow mode
        fresh = defaultdict(list)  # room -> [(index, request)]
        claimed = {}
        for index, request in enumerate(requests):
            key = (request.author.id, request.client_id)
            if index in refused:
                results[index] = refused[index]
            elif request.client_id is None:
                fresh[request.room].append((index, request))
            elif key in stored:
                results[index] = _repeat(stored[key], request)
            elif key in claimed:
                results[index] = claimed[key]  # the same message twice in one batch
            else:
                claimed[key] = index
                fresh[request.room].append((index, request))
        now = timezone.now()
        originals = _originals(fresh, results)
        authors = store.identity_names({request.author.id for items in fresh.values() for _, request in items})
        # Only a body with an @ costs a lookup, made before any room's row is locked.
        extras = {
            room: [(request.reply_to, _mentions(room.id, request.body)) for _, request in items]
            for room, items in fresh.items()
        }
        # Lock the rooms in one global order (by id): two workers whose batches touch the same
        # rooms would otherwise each hold one row and wait for the other (PostgreSQL deadlock).
        for room, items in sorted(fresh.items(), key=lambda pair: pair[0].id):
            inserted = _insert_without_gaps(room, items, extras[room], now, results)
            for (index, request), (reply_to, mentions), seq, message_id in inserted:
                author = _Author(request.author.public_id, authors[request.author.id])
                # What the frame needs, without building a model instance per message.
                frame = protocol.message(_Stored(
                    message_id, seq, request.client_id, author, request.body, now,
                    reply_to, originals.get(reply_to), mentions,
                ))
                results[index] = (frame, True)
                frames_by_room[room.code].append(frame)
        # Webhook deliveries commit with their messages (rooms/bots/outbox.py): none is lost.
        bots_outbox.enqueue({room.code: room for room in fresh}, frames_by_room)
    for index, result in enumerate(results):
        if isinstance(result, int):
            results[index] = results[result]
    return results, dict(frames_by_room)


# A new message, as protocol.message reads it: never edited, no reactions yet.
_Stored = namedtuple(
    "_Stored", "id seq client_id author body sent_at reply_to_id reply_to mentions edited_at reactions",
    defaults=(None, None),
)
_Author = namedtuple("_Author", "public_id name")  # its author, as protocol.member reads it


def _mentions(room_id, body):
    return selectors.mentions_in(room_id, body) if "@" in body else None


def _originals(fresh, results):
    """The messages the batch's replies answer (one query, only for a batch with replies).
    A reply to no visible message of its own room is refused and leaves the batch."""
    wanted = {request.reply_to for items in fresh.values() for _, request in items if request.reply_to is not None}
    if not wanted:
        return {}
    found = {m.id: m for m in Message.objects.filter(id__in=wanted).visible().select_related("author")}
    for room, items in list(fresh.items()):
        kept = []
        for index, request in items:
            original = found.get(request.reply_to)
            if request.reply_to is not None and (original is None or original.room_id != room.id):
                results[index] = ChatError(protocol.INVALID_FIELD, "'reply_to' names no message of this room.")
            else:
                kept.append((index, request))
        if kept:
            fresh[room] = kept
        else:
            del fresh[room]
    return found


def _insert_without_gaps(room, items, extras, now, results):
    """Insert one room's new messages under consecutive seqs, `extras` the (reply_to, mentions) of
    each -> [((index, request), (reply_to, mentions), seq, id)].

    A row whose (author, client_id) another worker stored after our check (a resend racing on
    two workers) is skipped by the insert. Its seq would stay a gap in the room's history that
    every socket's order waits on: so the room's seqs are given back (the row lock is still
    ours), the others stored again, and the repeat answered with the stored message.
    """
    while items:
        first = store.take_seqs(room.id, len(items))
        rows = [
            (room.id, r.author.id, r.body, now, r.client_id, first + n, reply_to, mentions)
            for n, ((_, r), (reply_to, mentions)) in enumerate(zip(items, extras, strict=True))
        ]
        ids = store.insert_messages(rows)
        if len(ids) == len(rows):
            return [(item, extra, row[5], ids[row[5]]) for item, extra, row in zip(items, extras, rows, strict=True)]
        store.give_back_seqs(room.id, first, list(ids.values()))
        for (index, request), row in zip(items, rows, strict=True):
            if row[5] not in ids:
                key = (request.author.id, request.client_id)
                results[index] = _repeat(_stored_by_client_id([request])[key], request)
        kept = [n for n, row in enumerate(rows) if row[5] in ids]
        items, extras = [items[n] for n in kept], [extras[n] for n in kept]
    return []


def _stored_by_client_id(requests):
    taken = store.client_ids_taken({(r.author.id, r.client_id) for r in requests if r.client_id is not None})
    keyed = [r for r in requests if (r.author.id, r.client_id) in taken]
    if not keyed:
        return {}
    rows = Message.objects.filter(
        author_id__in={r.author.id for r in keyed}, client_id__in={r.client_id for r in keyed}
    ).with_author()
    return {(m.author_id, m.client_id): m for m in rows}


def _repeat(stored, request):
    if stored.room_id != request.room.id:
        return ChatError(protocol.INVALID_FIELD, "That client_id was used in another room.")
    if stored.deleted_seq is not None:
        return ChatError(protocol.NOT_FOUND, "That message was removed.")
    return protocol.message(stored), False


def message_delete(*, message):
    """Remove a message (a moderator's or its author's wish): clear it, keep a tombstone with a seq.
    True if this call removed it (False: it was gone already)."""
    with transaction.atomic():
        room = Room.objects.get(pk=message.room_id)
        seq = store.take_seqs(room.id, 1)
        updated = Message.objects.filter(pk=message.pk, deleted_seq__isnull=True).update(
            deleted_seq=seq, body="", mentions=None, reactions=None
        )
        if not updated:
            transaction.set_rollback(True)
            return False
        message.deleted_seq, message.body = seq, ""
        doorway.publish_on_commit(room.code, protocol.delete(message))
    return True


def _own_message(room, identity, message_id):
    """A visible message of the room written by the identity; ChatError otherwise."""
    message = selectors.message_in_room(room, message_id)
    if message is None:
        raise ChatError(protocol.NOT_FOUND, "No such message in this room.")
    # By public id: this socket's identity may have no pk yet while another tab gave it its row.
    if message.author.public_id != identity.public_id:
        raise ChatError(protocol.FORBIDDEN, "You can only change your own messages.")
    return message


def message_delete_own(*, room, identity, message_id):
    """The author removes their own message: always allowed (moderators delete in the admin)."""
    if not message_delete(message=_own_message(room, identity, message_id)):
        raise ChatError(protocol.NOT_FOUND, "No such message in this room.")


def message_edit(*, room, identity, message_id, body):
    """The author changes a message's text within CHAT_EDIT_WINDOW_SECONDS of sending it (0:
    always). The edit takes the room's next seq; the row keeps only the latest one, so an edit
    storm rewrites one row. Mentions are found again. An unchanged text changes nothing."""
    message = _own_message(room, identity, message_id)
    window = settings.CHAT_EDIT_WINDOW_SECONDS
    if window and timezone.now() - message.sent_at > timedelta(seconds=window):
        raise ChatError(protocol.EDIT_WINDOW_CLOSED, "This message can no longer be edited.")
    if body == message.body:
        return
    mentions = _mentions(room.id, body)
    with transaction.atomic():
        seq = store.take_seqs(room.id, 1)
        now = timezone.now()
        updated = Message.objects.filter(pk=message.pk, deleted_seq__isnull=True).update(
            body=body, edited_at=now, edited_seq=seq, mentions=mentions
        )
        if not updated:  # deleted meanwhile; the exception rolls the seq back
            raise ChatError(protocol.NOT_FOUND, "No such message in this room.")
        message.body, message.edited_at, message.edited_seq, message.mentions = body, now, seq, mentions
        doorway.publish_on_commit(room.code, protocol.edit(message))


def message_react(*, room, identity, message_id, emoji):
    """Toggle the identity's reaction with one emoji (at most REACTIONS_MAX distinct per message).
    The room's row is locked (take_seqs) before the reactions are read, so two toggles at once
    on any workers apply one after the other, in seq order."""
    with transaction.atomic():
        seq = store.take_seqs(room.id, 1)
        message = Message.objects.in_room(room).visible().filter(id=message_id).only("id", "reactions").first()
        if message is None:
            raise ChatError(protocol.NOT_FOUND, "No such message in this room.")
        message.reactions = reactions.toggle(message.reactions or [], emoji, identity.public_id) or None
        message.reactions_seq = seq
        Message.objects.filter(pk=message.pk).update(reactions=message.reactions, reactions_seq=seq)
        doorway.publish_on_commit(room.code, protocol.reactions(message))


# ---- reading ----

def room_read(*, room, identity, seq):
    """Store that the identity has read the room up to `seq` (at most the room's seq); the new
    last read seq, or None when that would move it back or nowhere.

    Reading is no act that needs a row (rooms/identities.py): an identity without one keeps no
    marker, but its other tabs still hear how far it read."""
    seq = min(seq, selectors.room_seq(room))
    pk = identity.pk or Identity.objects.filter(public_id=identity.public_id).values_list("pk", flat=True).first()
    if pk is None:
        return seq
    identity.pk = pk
    return store.read_upto(room.id, pk, seq)


async def read_mark(*, room, identity, seq, socket):
    """`room_read`, then tell the identity's other sockets in the room (other tabs, any worker)."""
    moved = await database_sync_to_async(room_read)(room=room, identity=identity, seq=seq)
    if moved is not None:
        await doorway.publish_to_member(room.code, identity.public_id, protocol.read(moved), skip=socket)


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
    address_key: str = ""  # keyed hash of its address (rooms/bans.py): what a ban of it refuses


def sockets_open(*, arrivals, joins=None):
    """Record many sockets' presence and answer their hellos at once: the handshakes that arrive
    together (a restart brings thousands) share one transaction and, per room, one members query,
    one latest page and one `?after=` read per distinct seq; the parts every hello of a room
    shares are serialized once. Returns each arrival's (hello as JSON text, the hello's seq), in order.

    A join is announced only for a member's first socket in the room (one frame list per room),
    decided one member at a time (store.lock_members), so two tabs opening together announce one.
    Given a dict as `joins`, the join frames are put there by room code for the caller to publish
    from the event loop once this returns (committed), instead of from this thread on commit."""
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
                     name_key=names.name_key(a.identity.name), avatar_seed=a.identity.avatar_seed,
                     address_key=a.address_key, channel_name=a.channel_name, seen_at=now)
            for a in arrivals
        ])
        parts = moderation.hello_parts(arrivals)  # roles, the rooms' settings, ignore lists
        joined = defaultdict(list)
        for a in arrivals:
            if (a.room.id, a.identity.public_id) not in here:
                here.add((a.room.id, a.identity.public_id))
                joined[a.room.code].append(protocol.presence("join", a.identity,
                                                             role=parts.role(a.room.id, a.identity.public_id)))
        for code, frames in joined.items():
            if joins is None:
                doorway.publish_on_commit(code, frames)
            else:
                joins[code] = frames
    return _hellos(arrivals, parts)


def _hellos(arrivals, parts):
    """The hello texts of arrivals whose presence is committed, read for all their rooms at once:
    one members query, one latest page per room resuming without `after`, the `?after=` changes
    of every room together (selectors.changes_after_many), one read-marker query; the parts the
    hellos of a room share are serialized once."""
    rooms = list({a.room.id: a.room for a in arrivals}.values())
    members = {room_id: protocol.dumps([dict(protocol.member(m), role=parts.role(room_id, m.public_id)) for m in rows])
               for room_id, rows in selectors.members_present_many(rooms).items()}
    read = selectors.last_reads_many({(a.room, a.identity.pk) for a in arrivals})
    changes = selectors.changes_after_many({(a.room, a.after) for a in arrivals if a.after is not None})
    pages = {}  # (room id, after) -> (seq, messages JSON, has_more)
    texts = []
    for arrival in arrivals:
        key = (arrival.room.id, arrival.after)
        if key not in pages:
            if arrival.after is None:
                seq = selectors.room_seq(arrival.room)
                rows, has_more = selectors.messages_latest(arrival.room, upto=seq)
                frames = [protocol.message(m) for m in rows]
            else:
                seq, frames, has_more = changes[key]
            pages[key] = (seq, protocol.dumps(frames), has_more)
        seq, messages, has_more = pages[key]
        text = protocol.hello_text(arrival.identity, arrival.room.code, seq, members[arrival.room.id], messages,
                                   has_more, read.get((arrival.room.id, arrival.identity.pk)),
                                   you_role=parts.role(arrival.room.id, arrival.identity.public_id),
                                   room_extra=parts.rooms[arrival.room.id],
                                   ignored=parts.ignored.get(arrival.identity.pk, []))
        texts.append((text, seq))
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
