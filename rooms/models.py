"""Rooms, identities, messages and presence: fields, indexes and named filters, no logic."""
from django.db import models
from django.db.models import Q


class Room(models.Model):
    """A chat room; `seq` is the last sequence number handed to a change in its history."""

    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    seq = models.BigIntegerField(default=0)
    # Moderation (rooms/moderation.py): shown under the name, seconds between a member's
    # messages (0: off), and whether identities never in the room are kept out.
    topic = models.CharField(max_length=200, blank=True, default="", db_default="")
    slowmode = models.PositiveIntegerField(default=0, db_default=0)
    locked = models.BooleanField(default=False, db_default=False)

    def __str__(self):
        return self.code


class Identity(models.Model):
    """Who a browser is: an opaque public id, a display name and a generated avatar."""

    public_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    # The name case-folded (names.name_key): how an @mention finds it, through an index.
    name_key = models.CharField(max_length=128, db_index=True, default="")
    avatar_seed = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    # When it first did something that needs a row (rooms/identities.py): a message, a rename.
    # Null for identities made before that rule, by page loads, which never acted.
    acted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "identities"

    def __str__(self):
        return self.name


class MessageQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(deleted_seq__isnull=True)

    def in_room(self, room):
        return self.filter(room=room)

    def after_seq(self, seq):
        return self.filter(seq__gt=seq)

    def before_seq(self, seq):
        return self.filter(seq__lt=seq)

    def deleted_after_seq(self, seq):
        return self.filter(deleted_seq__gt=seq)

    def edited_after_seq(self, seq):
        return self.filter(edited_seq__gt=seq)

    def reacted_after_seq(self, seq):
        return self.filter(reactions_seq__gt=seq)

    def latest_first(self):
        return self.order_by("-seq")

    def with_author(self):
        """Everything a message frame shows: the author, and the original and its author of a reply."""
        return self.select_related("author", "reply_to__author")


class Message(models.Model):
    """A message in a room.

    Each kind of later change keeps only its latest seq on the row: `edited_seq` (the body was
    edited), `reactions_seq` (the reactions changed), `deleted_seq` (removed: a tombstone with
    its body cleared). `?after=` and `sync` replay each as one frame of the final state at that
    seq, so an edit storm rewrites one row and the database never grows with it; the seqs of
    superseded changes become gaps, which clients already skip.
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    # No index of its own: the (author, room) index below serves the lookups by author too.
    author = models.ForeignKey(Identity, on_delete=models.PROTECT, related_name="messages", db_index=False)
    body = models.TextField()
    sent_at = models.DateTimeField(auto_now_add=True)
    client_id = models.CharField(max_length=64, null=True, blank=True)
    seq = models.BigIntegerField()
    deleted_seq = models.BigIntegerField(null=True, blank=True)
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Public ids of the identities the body mentions, space-separated; null for none.
    mentions = models.TextField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    edited_seq = models.BigIntegerField(null=True, blank=True)
    # The reactions as the protocol shows them ([{"emoji", "count", "members"}]); null for none.
    reactions = models.JSONField(null=True, blank=True)
    reactions_seq = models.BigIntegerField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_room_seq_unique"),
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_author_client_id_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["room", "deleted_seq"],
                condition=Q(deleted_seq__isnull=False),
                name="message_room_deleted_seq",
            ),
            models.Index(
                fields=["room", "edited_seq"],
                condition=Q(edited_seq__isnull=False),
                name="message_room_edited_seq",
            ),
            models.Index(
                fields=["room", "reactions_seq"],
                condition=Q(reactions_seq__isnull=False),
                name="message_room_reactions_seq",
            ),
            # Mentions ask "has this identity written in this room?".
            models.Index(fields=["author", "room"], name="message_author_room"),
        ]

    def __str__(self):
        return f"{self.room.code}#{self.seq}"


class Membership(models.Model):
    """What an identity keeps per room: the last seq it has read (it never moves back), its role
    and how long it is muted (rooms/moderation.py)."""

    OWNER, MODERATOR, MEMBER = "owner", "moderator", "member"
    ROLES = [(OWNER, "owner"), (MODERATOR, "moderator"), (MEMBER, "member")]

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="memberships")
    last_read = models.BigIntegerField(default=0)
    role = models.CharField(max_length=16, choices=ROLES, default=MEMBER, db_default=MEMBER)  # raw inserts: store.read_upto
    muted_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "identity"], name="membership_room_identity_unique")]


class PresenceQuerySet(models.QuerySet):
    def in_room(self, room):
        return self.filter(room=room)

    def of_identity(self, identity):
        return self.filter(public_id=identity.public_id)

    def seen_before(self, moment):
        return self.filter(seen_at__lt=moment)


class Presence(models.Model):
    """One open socket of an identity in a room. `closing_at` marks a socket in its leave grace.

    It carries the member as the room sees it (public id, name, avatar seed), so an identity that
    has no row yet (rooms/identities.py) can be present; `identity` is set when it has one."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="presences")
    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="presences", null=True, blank=True)
    public_id = models.CharField(max_length=32)
    name = models.CharField(max_length=64)
    name_key = models.CharField(max_length=64, default="")  # names.name_key(name): @mentions of members present
    avatar_seed = models.CharField(max_length=32)
    address_key = models.CharField(max_length=64, blank=True, default="", db_default="")  # keyed hash (rooms/bans.py): what a ban refuses
    channel_name = models.CharField(max_length=128, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()
    closing_at = models.DateTimeField(null=True, blank=True)

    objects = PresenceQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["room", "identity"], name="presence_room_identity"),
            models.Index(fields=["room", "public_id"], name="presence_room_public_id"),
            models.Index(fields=["room", "name_key"], name="presence_room_name_key"),
            models.Index(fields=["public_id"], name="presence_public_id"),
        ]


class IdentityKey(models.Model):
    """An identity's private key link (/me/restore/<secret>/), stored only as the SHA-256 of its
    secret. One per identity: making a new key replaces the old one (rooms/carry.py)."""

    identity = models.OneToOneField(Identity, on_delete=models.CASCADE, related_name="key")
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    def __str__(self):
        return f"key of {self.identity}"


# ---- moderation (rooms/moderation.py) ----

class Ban(models.Model):
    """A room refusing an identity and the address it used until `expires_at` (null: for good).
    Both are kept only as keyed hashes (rooms/bans.py), never in plain."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="bans")
    identity_key = models.CharField(max_length=64)
    address_key = models.CharField(max_length=64, blank=True, default="")
    name = models.CharField(max_length=64)  # the name the person had, for the list of bans
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["room", "identity_key"], name="ban_room_identity_key"),
            models.Index(fields=["room", "address_key"], name="ban_room_address_key"),
        ]

    def __str__(self):
        return f"{self.name} in {self.room.code}"


class Report(models.Model):
    """Someone asking the room's moderators to look at a message."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="reports")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="reports")
    address_key = models.CharField(max_length=64, blank=True, default="")  # keyed hash: the per-address limit
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["room", "resolved_at"], name="report_room_resolved"),
            models.Index(fields=["reporter", "created_at"], name="report_reporter_created"),
            models.Index(fields=["address_key", "created_at"], name="report_address_created"),
        ]

    def __str__(self):
        return f"report {self.pk} in {self.room.code}"


class Ignore(models.Model):
    """An identity not wanting to see another's messages and typing, on any of its devices."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="ignores")
    ignored = models.CharField(max_length=32)  # the ignored identity's public id
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["identity", "ignored"], name="ignore_identity_ignored_unique")]


class ModerationLog(models.Model):
    """One moderation act: who (an identity of the room, or a staff user), what, whom, when, why.

    Acts a reconnecting page must learn (a role, a mute, the room's settings) took the room's
    `seq` and keep the frame that announced them: `?after=` and `sync` replay it."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="moderation_log")
    actor = models.ForeignKey(Identity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    staff = models.CharField(max_length=150, blank=True, default="")  # the admin user, for acts from the admin
    action = models.CharField(max_length=16)
    target_name = models.CharField(max_length=64, blank=True, default="")
    target_key = models.CharField(max_length=64, blank=True, default="")  # keyed hash of the target's public id
    reason = models.CharField(max_length=200, blank=True, default="")
    detail = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    seq = models.BigIntegerField(null=True, blank=True)
    frame = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["room", "seq"], condition=Q(seq__isnull=False), name="modlog_room_seq"),
            models.Index(fields=["room", "created_at"], name="modlog_room_created"),
        ]

    def __str__(self):
        return f"{self.action} in {self.room.code}"


# Bots and their webhook deliveries live in rooms/bots/models.py; imported here so Django finds them.
from rooms.bots.models import Bot, BotDelivery  # noqa: E402,F401
