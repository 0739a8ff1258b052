"""A room's own moderation: who may do what to whom, the writes, and the checks at action time.

Roles live on Membership (owner, moderator, member): the identity that creates a room owns it
(`room_created`), the owner names moderators (`role_set`), and Django staff act as an owner of
every room from the admin (an `Actor` with `staff`). A moderator acts on members only; nobody
but staff acts on the owner.

All state is in the database and read when someone acts (a message, an edit, a reaction, a
socket opening, a page or the home form), never remembered by a worker: a mute, a ban, slow
mode or a lock holds on every worker at once. Kicks and bans close the person's open sockets
on every worker through the doorway (`doorway.close_member`).

Acts a page that reconnects must learn take the room's next seq and keep their frame in the
moderation log, from where `?after=` and `sync` replay them (selectors.changes_between): a
`room` frame (topic, slow mode, lock) and a `member` frame (a role or a mute). Kicks, bans,
reports and ignores take none: they concern one person, or moderators only, and the hello of
any reconnect carries their result (who is present, roles, the ignore list).
"""
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rooms import bans, protocol, selectors, store
from rooms.errors import ChatError
from rooms.live import doorway
from rooms.live.ratelimit import parse_rate
from rooms.models import Ban, Identity, Ignore, Membership, Message, ModerationLog, Presence, Report, Room

OWNER, MODERATOR, MEMBER = Membership.OWNER, Membership.MODERATOR, Membership.MEMBER
STAFF_ROLES = (OWNER, MODERATOR)
MUTE_MAX_SECONDS = 30 * 24 * 3600
BAN_MAX_SECONDS = 10 * 365 * 24 * 3600
SLOWMODE_MAX_SECONDS = 3600
REASON_MAX_LENGTH = 200
TOPIC_MAX_LENGTH = 200
IGNORE_MAX = 500  # people one identity may ignore: what a stranger can make the server keep is bounded


@dataclass
class Actor:
    """Who acts: an identity of the room (its role is read when it acts), or a staff user."""

    identity: Identity | None = None
    staff: str = ""  # the admin user's name: staff act as an owner in every room

    @property
    def name(self):
        return self.identity.name if self.identity is not None else self.staff


def _now():
    return timezone.now()


def _seconds_left(moment):
    return max(1, int((moment - _now()).total_seconds() + 0.999))


# ---- roles ----

def room_created(*, room, identity):
    """The identity that made the room owns it (creating a room is an act: it is stored)."""
    from rooms import services

    services.identity_store(identity=identity)
    Membership.objects.update_or_create(room=room, identity_id=identity.pk, defaults={"role": OWNER})


def role_of(room, identity):
    """The identity's role in the room ("member" without a row)."""
    if identity is None:
        return MEMBER
    rows = Membership.objects.filter(room=room, identity__public_id=identity.public_id)
    return rows.values_list("role", flat=True).first() or MEMBER


def roles_in(room_ids):
    """{room id: {public id: (role, Identity)}} of the owners and moderators of these rooms (one query)."""
    found = {room_id: {} for room_id in room_ids}
    rows = Membership.objects.filter(room_id__in=room_ids, role__in=STAFF_ROLES).select_related("identity")
    for row in rows.order_by("role", "id"):  # "moderator" < "owner": the owner is written last, and wins
        found[row.room_id][row.identity.public_id] = (row.role, row.identity)
    return found


def _actor_role(room, actor):
    return OWNER if actor.staff else role_of(room, actor.identity)


def _may_act_on(actor_role, target_role):
    """A moderator acts on members; the owner on moderators and members; nobody on the owner."""
    if target_role == OWNER:
        return False
    return actor_role == OWNER or (actor_role == MODERATOR and target_role == MEMBER)


def _require_moderator(room, actor):
    role = _actor_role(room, actor)
    if role not in STAFF_ROLES:
        raise ChatError(protocol.FORBIDDEN, "Only the room's owner and moderators can do that.")
    return role


def _target(room, actor, public_id):
    """(identity row, role) of a member of the room that `actor` may act on; the identity gets
    its row if it had none (it is present with a cookie only). not_found for nobody known."""
    row = Identity.objects.filter(public_id=public_id).first()
    if row is None:
        present = Presence.objects.in_room(room).filter(public_id=public_id).first()
        if present is None:
            raise ChatError(protocol.NOT_FOUND, "Nobody with that id is in this room.")
        try:
            with transaction.atomic():
                row = Identity.objects.create(public_id=public_id, name=present.name, name_key=present.name_key,
                                              avatar_seed=present.avatar_seed, acted_at=_now())
        except IntegrityError:
            row = Identity.objects.get(public_id=public_id)
    if actor.identity is not None and row.public_id == actor.identity.public_id:
        raise ChatError(protocol.FORBIDDEN, "You cannot do that to yourself.")
    return row, role_of(room, row)


def _log(room, actor, action, target=None, reason="", detail="", seq=None, frame=None):
    return ModerationLog.objects.create(
        room=room, actor_id=actor.identity.pk if actor.identity is not None else None, staff=actor.staff,
        action=action, target_name=target.name if target is not None else "",
        target_key=bans.identity_key(target.public_id) if target is not None else "",
        reason=reason[:REASON_MAX_LENGTH], detail=detail[:200], seq=seq, frame=frame,
    )


def member_frame(room, identity, seq):
    """The `member` frame of an identity as the room sees it now: its role and mute."""
    row = Membership.objects.filter(room=room, identity_id=identity.pk).values_list("role", "muted_until").first()
    role, muted_until = row or (MEMBER, None)
    if muted_until is not None and muted_until <= _now():
        muted_until = None
    return protocol.member_changed(identity, role, muted_until, seq)


def _announce_member(room, actor, action, target, reason="", detail=""):
    """Take the room's next seq for a role or mute change, log it with its frame, and send it."""
    seq = store.take_seqs(room.id, 1)
    frame = member_frame(room, target, seq)
    _log(room, actor, action, target, reason, detail, seq=seq, frame=frame)
    doorway.publish_on_commit(room.code, frame)
    return frame


def role_set(*, room, actor, member_id, role):
    """The owner (or staff) makes a member a moderator, or a moderator a member again."""
    if _actor_role(room, actor) != OWNER:
        raise ChatError(protocol.FORBIDDEN, "Only the room's owner can name moderators.")
    with transaction.atomic():
        target, current = _target(room, actor, member_id)
        if current == OWNER:
            raise ChatError(protocol.FORBIDDEN, "The owner's role cannot be changed.")
        Membership.objects.update_or_create(room=room, identity=target, defaults={"role": role})
        return _announce_member(room, actor, "role", target, detail=role)


# ---- mute, kick, ban ----

def mute(*, room, actor, member_id, seconds, reason=""):
    """Refuse the member's messages, edits and reactions in the room for `seconds` (0: unmute)."""
    actor_role = _require_moderator(room, actor)
    with transaction.atomic():
        target, role = _target(room, actor, member_id)
        if not _may_act_on(actor_role, role):
            raise ChatError(protocol.FORBIDDEN, "Moderators cannot mute the owner or another moderator.")
        until = _now() + timedelta(seconds=seconds) if seconds else None
        Membership.objects.update_or_create(room=room, identity=target, defaults={"muted_until": until})
        if seconds:
            _resolve_reports(room, author=target)
        return _announce_member(room, actor, "mute" if seconds else "unmute", target, reason,
                                detail=f"{seconds} s" if seconds else "")


def kick(*, room, actor, member_id, reason=""):
    """Close the member's sockets in the room (every worker), a frame saying why first."""
    actor_role = _require_moderator(room, actor)
    with transaction.atomic():
        target, role = _target(room, actor, member_id)
        if not _may_act_on(actor_role, role):
            raise ChatError(protocol.FORBIDDEN, "Moderators cannot kick the owner or another moderator.")
        _log(room, actor, "kick", target, reason)
        detail = f"{actor.name} removed you from this room" + (f": {reason}" if reason else ".")
        frame = protocol.error(KICKED, detail)
        frame["reason"] = reason
        doorway.close_member_on_commit(room.code, target.public_id, frame, protocol.CLOSE_REFUSED)


def ban(*, room, actor, member_id, seconds, reason=""):
    """Kick, and refuse the identity and the address it used (keyed hashes) until it expires
    (`seconds` None: for good). The member loses any role. Returns the Ban."""
    actor_role = _require_moderator(room, actor)
    with transaction.atomic():
        target, role = _target(room, actor, member_id)
        if not _may_act_on(actor_role, role):
            raise ChatError(protocol.FORBIDDEN, "Moderators cannot ban the owner or another moderator.")
        now = _now()
        Ban.objects.filter(room=room, expires_at__lte=now).delete()  # expired bans are forgotten here
        address = (Presence.objects.in_room(room).filter(public_id=target.public_id).exclude(address_key="")
                   .order_by("-connected_at").values_list("address_key", flat=True).first()) or ""
        expires = now + timedelta(seconds=seconds) if seconds else None
        row = Ban.objects.create(room=room, identity_key=bans.identity_key(target.public_id), address_key=address,
                                 name=target.name, reason=reason[:REASON_MAX_LENGTH], expires_at=expires)
        if role == MODERATOR:
            Membership.objects.filter(room=room, identity=target).update(role=MEMBER)
        _resolve_reports(room, author=target)
        _log(room, actor, "ban", target, reason, detail="for good" if seconds is None else f"{seconds} s")
        doorway.close_member_on_commit(room.code, target.public_id, banned_frame(row), protocol.CLOSE_REFUSED)
        return row


def banned_frame(row):
    until = "for good" if row.expires_at is None else f"until {protocol._time(row.expires_at)}"
    detail = f"You are banned from this room {until}" + (f": {row.reason}" if row.reason else ".")
    frame = protocol.error(BANNED, detail)
    frame["reason"] = row.reason
    frame["until"] = protocol._time(row.expires_at)
    return frame


def unban(*, room, actor, ban_id):
    _require_moderator(room, actor)
    with transaction.atomic():
        row = Ban.objects.filter(room=room, pk=ban_id).first()
        if row is None:
            raise ChatError(protocol.NOT_FOUND, "No such ban in this room.")
        row.delete()
        ModerationLog.objects.create(room=room, actor_id=actor.identity.pk if actor.identity else None,
                                     staff=actor.staff, action="unban", target_name=row.name,
                                     target_key=row.identity_key)


def _active(rows):
    return rows.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=_now()))


def bans_list(*, room, actor):
    _require_moderator(room, actor)
    return protocol.bans_list(_active(Ban.objects.filter(room=room)).order_by("-created_at"))


# ---- the room's settings ----

def room_settings(*, room, actor, topic=None, slowmode=None, locked=None):
    """Change the topic, slow mode or lock; everyone hears a `room` frame (with the room's seq)."""
    _require_moderator(room, actor)
    with transaction.atomic():
        seq = store.take_seqs(room.id, 1)
        row = Room.objects.get(pk=room.pk)
        changed = []
        if topic is not None and topic != row.topic:
            row.topic, changed = topic, [*changed, "topic"]
        if slowmode is not None and slowmode != row.slowmode:
            row.slowmode, changed = slowmode, [*changed, "slowmode"]
        if locked is not None and locked != row.locked:
            row.locked, changed = locked, [*changed, "locked"]
            if locked:
                _keep_present_members(row)
        if not changed:
            transaction.set_rollback(True)
            return None
        Room.objects.filter(pk=row.pk).update(**{field: getattr(row, field) for field in changed})
        frame = protocol.room_changed(row, seq)
        detail = ", ".join(f"{field}={getattr(row, field)}" for field in changed)
        _log(room, actor, "room", detail=detail, seq=seq, frame=frame)
        doorway.publish_on_commit(room.code, frame)
        return frame


def _keep_present_members(room):
    """Locking: everyone present now was in the room, and keeps access (a Membership row;
    identities present with a cookie only get their row)."""
    for present in Presence.objects.in_room(room).filter(identity__isnull=True):
        Identity.objects.get_or_create(public_id=present.public_id, defaults={
            "name": present.name, "name_key": present.name_key, "avatar_seed": present.avatar_seed, "acted_at": _now()})
    ids = Identity.objects.filter(public_id__in=Presence.objects.in_room(room).values("public_id")).values_list("pk", flat=True)
    have = set(Membership.objects.filter(room=room, identity_id__in=ids).values_list("identity_id", flat=True))
    Membership.objects.bulk_create([Membership(room=room, identity_id=pk) for pk in set(ids) - have],
                                   ignore_conflicts=True)


# ---- messages ----

def message_delete(*, room, actor, message_id, reason=""):
    """An author removes their own message; the owner and moderators (and staff) any message of
    a member (a moderator not the owner's or another moderator's)."""
    from rooms import services

    message = selectors.message_in_room(room, message_id)
    if message is None:
        raise ChatError(protocol.NOT_FOUND, "No such message in this room.")
    if actor.identity is not None and message.author.public_id == actor.identity.public_id:
        return services.message_delete_own(room=room, identity=actor.identity, message_id=message_id)
    actor_role = _actor_role(room, actor)
    if actor_role not in STAFF_ROLES:
        raise ChatError(protocol.FORBIDDEN, "You can only change your own messages.")
    if not _may_act_on(actor_role, role_of(room, message.author)):
        raise ChatError(protocol.FORBIDDEN, "Moderators cannot delete the owner's or another moderator's messages.")
    with transaction.atomic():
        if not services.message_delete(message=message):
            raise ChatError(protocol.NOT_FOUND, "No such message in this room.")
        Report.objects.filter(message=message, resolved_at__isnull=True).update(resolved_at=_now())
        _log(room, actor, "delete", message.author, reason, detail=f"message {message.id}")


# ---- reports ----

def _report_rate():
    return parse_rate(settings.CHAT_REPORT_LIMIT)


def report(*, room, identity, address, message_id, reason):
    """Anyone reports a message: stored, and sent live to the room's moderators who are online.
    At most CHAT_REPORT_LIMIT reports per identity and per address (counted in the database, so
    on every worker at once)."""
    from rooms import services

    message = selectors.message_in_room(room, message_id)
    if message is None:
        raise ChatError(protocol.NOT_FOUND, "No such message in this room.")
    address = bans.address_key(address)
    rate = _report_rate()
    if rate is not None:
        count, seconds = rate
        since = _now() - timedelta(seconds=seconds)
        recent = Report.objects.filter(created_at__gt=since)
        if (recent.filter(reporter__public_id=identity.public_id).count() >= count
                or (address and recent.filter(address_key=address).count() >= count)):
            raise ChatError(protocol.RATE_LIMITED, f"You have sent {count} reports recently; try again later.")
    services.identity_store(identity=identity)
    with transaction.atomic():
        row = Report.objects.create(room=room, message=message, reporter_id=identity.pk, address_key=address,
                                    reason=reason[:REASON_MAX_LENGTH])
        frame = protocol.report(row, message, identity)
        online = Presence.objects.in_room(room).filter(
            public_id__in=Membership.objects.filter(room=room, role__in=STAFF_ROLES).values("identity__public_id")
        ).values_list("public_id", flat=True).distinct()
        doorway.publish_to_members_on_commit(room.code, set(online), frame)
    return row


def reports_list(*, room, actor):
    _require_moderator(room, actor)
    rows = (Report.objects.filter(room=room, resolved_at__isnull=True, message__deleted_seq__isnull=True)
            .select_related("reporter", "message__author", "message__reply_to__author").order_by("created_at")[:100])
    return protocol.reports_list([protocol.report(row, row.message, row.reporter) for row in rows])


def report_dismiss(*, room, actor, report_id):
    _require_moderator(room, actor)
    if not Report.objects.filter(room=room, pk=report_id, resolved_at__isnull=True).update(resolved_at=_now()):
        raise ChatError(protocol.NOT_FOUND, "No such open report in this room.")
    ModerationLog.objects.create(room=room, actor_id=actor.identity.pk if actor.identity else None,
                                 staff=actor.staff, action="dismiss", detail=f"report {report_id}")


def _resolve_reports(room, author):
    Report.objects.filter(room=room, message__author=author, resolved_at__isnull=True).update(resolved_at=_now())


# ---- ignore ----

def ignore(*, room, identity, member_id, on):
    """Hide (or show again) a member's messages and typing on every device of the identity.
    Returns the identity's ignore list, which its sockets in the room hear."""
    from rooms import services

    if member_id == identity.public_id:
        raise ChatError(protocol.INVALID_FIELD, "You cannot ignore yourself.")
    if not (Identity.objects.filter(public_id=member_id).exists()
            or Presence.objects.in_room(room).filter(public_id=member_id).exists()):
        raise ChatError(protocol.NOT_FOUND, "Nobody with that id is in this room.")
    services.identity_store(identity=identity)
    if on:
        if Ignore.objects.filter(identity_id=identity.pk).count() >= IGNORE_MAX:
            raise ChatError(protocol.INVALID_FIELD, f"You ignore {IGNORE_MAX} people already; stop ignoring someone first.")
        Ignore.objects.get_or_create(identity_id=identity.pk, ignored=member_id)
    else:
        Ignore.objects.filter(identity_id=identity.pk, ignored=member_id).delete()
    return ignored_by(identity.pk)


def ignored_by(identity_pk):
    if identity_pk is None:
        return []
    return sorted(Ignore.objects.filter(identity_id=identity_pk).values_list("ignored", flat=True))


# ---- checks at action time ----

KICKED = "kicked"
BANNED = "banned"
MUTED = "muted"
SLOW_MODE = "slow_mode"
ROOM_LOCKED = "room_locked"


def _was_in_room(room_id, identity):
    """Has the identity been in the room (a Membership, or a message)? Those keep access to a locked room."""
    if identity.pk is None:
        return False
    return (Membership.objects.filter(room_id=room_id, identity_id=identity.pk).exists()
            or Message.objects.filter(room_id=room_id, author_id=identity.pk).exists())


def _refusal(identity, address_hash, role, bans_rows, locked, was_in):
    """Why the identity may not enter a room, as an error frame, or None, from what was read:
    the room's active bans (newest first), whether it is locked, whether the identity was in it.

    The identity's own ban always refuses it; an address's ban refuses identities made after it
    (a fresh cookie) but not people the room knew before (others behind the same NAT), nor its
    owner and moderators. A locked room refuses members who were never in it."""
    own = bans.identity_key(identity.public_id)
    for row in bans_rows:
        if row.identity_key == own:
            return banned_frame(row)
        if address_hash and role == MEMBER and row.address_key == address_hash and (
                identity.pk is None or (identity.created_at is not None and identity.created_at > row.created_at)):
            return banned_frame(row)
    if locked and role == MEMBER and not was_in:
        return protocol.error(ROOM_LOCKED, "This room is locked: only people who were already in it can join.")
    return None


def entry_refusal(room, identity, address_hash):
    """Why the identity may not enter the room from this address (a page, the home form), as an
    error frame, or None: banned, or the room is locked and it was never in it."""
    bans_rows = list(_active(Ban.objects.filter(room_id=room.id)).order_by("-created_at"))
    locked = Room.objects.filter(pk=room.pk, locked=True).exists()
    if not bans_rows and not locked:
        return None
    return _refusal(identity, address_hash, role_of(room, identity), bans_rows, locked,
                    locked and _was_in_room(room.id, identity))


def socket_refusals(entries):
    """entry_refusal for a batch of sockets [(room, identity, address hash)]: two queries for
    the batch's rooms (locked ones, active bans); for a batch that enters a guarded room, one
    more for the arrivals' roles and, if a room is locked, one for who wrote there. A storm of
    reconnects to a room with bans costs the same few queries, not a few per socket."""
    room_ids = {room.id for room, _, _ in entries if room is not None}
    if not room_ids:
        return [None] * len(entries)
    locked = set(Room.objects.filter(pk__in=room_ids, locked=True).values_list("pk", flat=True))
    bans_by_room = {}
    for row in _active(Ban.objects.filter(room_id__in=room_ids)).order_by("-created_at"):
        bans_by_room.setdefault(row.room_id, []).append(row)
    guarded = locked | set(bans_by_room)
    if not guarded:
        return [None] * len(entries)
    pks = {identity.pk for room, identity, _ in entries if room is not None and room.id in guarded and identity.pk}
    members = dict(((room_id, identity_id), role) for room_id, identity_id, role in Membership.objects.filter(
        room_id__in=guarded, identity_id__in=pks).values_list("room_id", "identity_id", "role")) if pks else {}
    wrote = set(Message.objects.filter(room_id__in=locked, author_id__in=pks).values_list(
        "room_id", "author_id").distinct()) if locked and pks else set()
    found = []
    for room, identity, address in entries:
        if room is None or room.id not in guarded:
            found.append(None)
            continue
        key = (room.id, identity.pk)
        found.append(_refusal(identity, address, members.get(key, MEMBER), bans_by_room.get(room.id, []),
                              room.id in locked, key in members or key in wrote))
    return found


def write_refusal(room, identity):
    """A ChatError if the identity may not write in the room now (muted or banned), else None."""
    row = Membership.objects.filter(room=room, identity__public_id=identity.public_id).values_list(
        "muted_until", flat=True).first()
    if row is not None and row > _now():
        left = _seconds_left(row)
        return ChatError(MUTED, f"You are muted in this room for {left} more seconds.", retry_after_ms=left * 1000)
    if _active(Ban.objects.filter(room=room, identity_key=bans.identity_key(identity.public_id))).exists():
        return ChatError(BANNED, "You are banned from this room.")
    return None


def ensure_may_write(*, room, identity):
    refusal = write_refusal(room, identity)
    if refusal is not None:
        raise refusal


def message_refusals(requests):
    """{index: ChatError} for the messages of a batch that may not be sent: a muted or banned
    author, or slow mode (one message per `slowmode` seconds for members; moderators exempt).
    Read in the batch's transaction: a few queries per batch, whatever its size."""
    if not requests:
        return {}
    room_ids = {r.room.id for r in requests}
    author_ids = {r.author.id for r in requests}
    # The hot path: two plain statements (rooms/store.py says why), whatever the batch's size.
    slow, banning = {}, set()
    for room_id, slowmode, has_bans in store._run(
        f'SELECT r.id, r.slowmode, EXISTS (SELECT 1 FROM "{_BAN}" b WHERE b.room_id = r.id) '
        f'FROM "{_ROOM}" r WHERE r.id IN ({_marks(room_ids)})', sorted(room_ids)):
        if slowmode:
            slow[room_id] = slowmode
        if has_bans:
            banning.add(room_id)
    now = _now()
    members = {}
    for room_id, identity_id, role, muted_until in store._run(
        f'SELECT room_id, identity_id, role, muted_until FROM "{_MEMBERSHIP}" WHERE room_id IN ({_marks(room_ids)}) '
        f"AND identity_id IN ({_marks(author_ids)}) AND (role <> %s OR muted_until IS NOT NULL)",
        [*sorted(room_ids), *sorted(author_ids), MEMBER]):
        members[room_id, identity_id] = (role, _as_moment(muted_until))
    banned = set()
    if banning:
        keys = {bans.identity_key(r.author.public_id): r.author.id for r in requests if r.room.id in banning}
        banned = {(room_id, keys[key]) for room_id, key in _active(Ban.objects.filter(
            room_id__in=banning, identity_key__in=keys)).values_list("room_id", "identity_key")}
    last_sent = {}
    if slow:
        for room_id, author_id, sent_at in Message.objects.filter(room_id__in=slow, author_id__in=author_ids).values(
                "room_id", "author_id").annotate(last=_max("sent_at")).values_list("room_id", "author_id", "last"):
            last_sent[room_id, author_id] = sent_at
    refused = {}
    for index, request in enumerate(requests):
        key = (request.room.id, request.author.id)
        role, muted_until = members.get(key, (MEMBER, None))
        if key in banned:
            refused[index] = ChatError(BANNED, "You are banned from this room.")
        elif muted_until is not None and muted_until > now:
            left = _seconds_left(muted_until)
            refused[index] = ChatError(MUTED, f"You are muted in this room for {left} more seconds.",
                                       retry_after_ms=left * 1000)
        elif request.room.id in slow and role == MEMBER:
            wait = slow[request.room.id]
            last = last_sent.get(key)
            if last is not None and (now - last).total_seconds() < wait:
                left = max(1, int(wait - (now - last).total_seconds() + 0.999))
                refused[index] = ChatError(SLOW_MODE, f"Slow mode: you can send your next message in {left} s.",
                                           retry_after_ms=left * 1000)
            else:
                last_sent[key] = now  # a second message of the same batch waits its turn too
    return refused


_BAN, _ROOM, _MEMBERSHIP = Ban._meta.db_table, Room._meta.db_table, Membership._meta.db_table


def _marks(values):
    return ", ".join(["%s"] * len(values))


def _as_moment(value):
    """A datetime column read by the driver: aware from PostgreSQL, naive UTC (or text) from SQLite."""
    moment = value if value is None or isinstance(value, datetime) else parse_datetime(value)
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def _max(field):
    from django.db.models import Max

    return Max(field)


# ---- hellos ----

@dataclass
class HelloParts:
    """What moderation adds to the hellos of a batch of arrivals (rooms/services._hellos)."""

    rooms: dict  # room id -> {"topic", "slowmode", "locked", "moderators"}
    roles: dict  # room id -> {public id: role}
    ignored: dict  # identity pk -> [public ids]

    def role(self, room_id, public_id):
        return self.roles.get(room_id, {}).get(public_id, MEMBER)


def hello_parts(arrivals):
    """Three queries for a whole batch of arrivals: the rooms' settings, their owners and
    moderators, the arriving identities' ignore lists."""
    room_ids = {a.room.id for a in arrivals}
    settings_rows = {row[0]: row[1:] for row in Room.objects.filter(pk__in=room_ids).values_list(
        "pk", "topic", "slowmode", "locked")}
    staff = roles_in(room_ids)
    rooms = {}
    for room_id in room_ids:
        topic, slowmode, locked = settings_rows.get(room_id, ("", 0, False))
        moderators = [dict(protocol.member(identity), role=role) for _, (role, identity) in staff[room_id].items()]
        rooms[room_id] = {"topic": topic, "slowmode": slowmode, "locked": locked, "moderators": moderators}
    roles = {room_id: {public_id: role for public_id, (role, _) in people.items()} for room_id, people in staff.items()}
    pks = {a.identity.pk for a in arrivals if a.identity.pk is not None}
    ignored = {}
    if pks:
        for identity_id, public_id in Ignore.objects.filter(identity_id__in=pks).values_list("identity_id", "ignored"):
            ignored.setdefault(identity_id, []).append(public_id)
    return HelloParts(rooms, roles, ignored)
