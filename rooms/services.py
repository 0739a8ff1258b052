"""Every write and every broadcast of the chat. Plain functions with keyword arguments.

Views, the consumer and the admin all come through here, so a moderator's delete in the admin
reaches open pages exactly like any other change.
"""
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from rooms import avatars, broadcast, codes, names, protocol, selectors
from rooms.errors import ChatError
from rooms.models import Identity, Message, Presence, Room

CODE_ATTEMPTS = 50
SESSION_KEY = "identity"


class RoomCodesExhausted(ChatError):
    def __init__(self):
        super().__init__("codes_exhausted", "No free room code could be found; try again later.")


# ---- identities ----

def identity_name_clean(*, name):
    """A name as a person typed it -> the name to store, or None for 'give me a random one'."""
    try:
        return names.clean_name(name, settings.CHAT_NAME_MAX_LENGTH)
    except ValueError as exc:
        raise ChatError(protocol.INVALID_NAME, str(exc)) from None


def identity_create(*, name=None):
    return Identity.objects.create(
        public_id=secrets.token_urlsafe(12),
        name=name or names.random_name(),
        avatar_seed=avatars.new_seed(),
    )


def identity_for_session(*, session, create=True):
    """The identity this browser session points to; a new random one (saved to it) if none."""
    identity = selectors.identity_by_public_id(session.get(SESSION_KEY))
    if identity is None and create:
        identity = identity_create()
        session[SESSION_KEY] = identity.public_id
    return identity


def identity_rename(*, identity, name):
    """Rename and tell every room the identity is in. Raises ChatError for an unusable name."""
    clean = identity_name_clean(name=name)
    if clean is None:
        raise ChatError(protocol.INVALID_NAME, "The name needs at least one visible character.")
    with transaction.atomic():
        old_name = Identity.objects.filter(pk=identity.pk).values_list("name", flat=True).get()
        identity.name = clean
        identity.save(update_fields=["name"])
        if old_name == clean:
            return identity
        frame = protocol.rename(identity, old_name)
        renamed = {"id": identity.public_id, "name": clean}
        room_codes = Room.objects.filter(presences__identity=identity).values_list("code", flat=True).distinct()
        for code in room_codes:
            broadcast.publish_on_commit(code, frame, renamed=renamed)
    return identity


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


def _next_seq(room):
    """Take the room's next seq; the UPDATE locks the room row until the transaction ends."""
    Room.objects.filter(pk=room.pk).update(seq=F("seq") + 1)
    return Room.objects.filter(pk=room.pk).values_list("seq", flat=True).get()


# ---- messages ----

def message_send(*, room, author, body, client_id=None):
    """Store a message and broadcast it after commit. Returns (message frame, created).

    A repeated client_id from the same author returns the stored message, so a client can
    resend safely after a reconnect.
    """
    with transaction.atomic():
        seq = _next_seq(room)
        if client_id is not None:
            stored = Message.objects.filter(author=author, client_id=client_id).select_related("author").first()
            if stored is not None:
                transaction.set_rollback(True)
                if stored.room_id != room.id:
                    raise ChatError(protocol.INVALID_FIELD, "That client_id was used in another room.")
                return protocol.message(stored), False
        message = Message.objects.create(room=room, author=author, body=body, client_id=client_id, seq=seq)
        message.author = author
        frame = protocol.message(message)
        broadcast.publish_on_commit(room.code, frame)
    return frame, True


def message_delete(*, message):
    """Remove a message (a moderator's or its author's wish): clear it, keep a tombstone with a seq."""
    with transaction.atomic():
        room = Room.objects.get(pk=message.room_id)
        seq = _next_seq(room)
        updated = Message.objects.filter(pk=message.pk, deleted_seq__isnull=True).update(deleted_seq=seq, body="")
        if not updated:
            transaction.set_rollback(True)
            return
        message.deleted_seq, message.body = seq, ""
        broadcast.publish_on_commit(room.code, protocol.delete(message))


# ---- presence and typing ----

def presence_connect(*, room, identity, channel_name):
    """Record an open socket; announce a join only for the identity's first socket in the room."""
    with transaction.atomic():
        Identity.objects.select_for_update().filter(pk=identity.pk).first()
        already_here = Presence.objects.in_room(room).of_identity(identity).exists()
        Presence.objects.create(room=room, identity=identity, channel_name=channel_name, seen_at=timezone.now())
        if not already_here:
            broadcast.publish_on_commit(room.code, protocol.presence("join", identity))


def presence_closing(*, channel_name):
    """Mark a socket closed but keep its presence through the leave grace (a refresh is no leave)."""
    Presence.objects.filter(channel_name=channel_name).update(closing_at=timezone.now())


def presence_disconnect(*, channel_name):
    """Drop a socket's presence; announce a leave if it was the identity's last one in the room."""
    with transaction.atomic():
        row = Presence.objects.filter(channel_name=channel_name).select_related("room", "identity").first()
        if row is None:
            return
        Identity.objects.select_for_update().filter(pk=row.identity_id).first()
        row.delete()
        if not Presence.objects.in_room(row.room).of_identity(row.identity).exists():
            broadcast.publish_on_commit(row.room.code, protocol.presence("leave", row.identity))


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


def room_seqs(*, room_ids):
    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "seq"))


def room_hello(*, room, identity, after=None):
    """The hello frame for a new socket: who is here, and the latest page or the changes since `after`."""
    members = selectors.members_present(room)
    if after is None:
        seq = selectors.room_seq(room)
        rows, has_more = selectors.messages_latest(room, upto=seq)
        messages = [protocol.message(m) for m in rows]
    else:
        seq, messages, has_more = selectors.changes_after(room, after)
    return protocol.hello(identity, room.code, seq, members, messages, has_more)


async def typing_notify(*, room_code, identity):
    await broadcast.publish_now(room_code, protocol.typing(identity))
