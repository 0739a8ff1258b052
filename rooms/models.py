"""Rooms, identities, messages and presence: fields, indexes and named filters, no logic."""
from django.db import models
from django.db.models import Q


class Room(models.Model):
    """A chat room; `seq` is the last sequence number handed to a change in its history."""

    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    seq = models.BigIntegerField(default=0)

    def __str__(self):
        return self.code


class Identity(models.Model):
    """Who a browser is: an opaque public id, a display name and a generated avatar."""

    public_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
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

    def latest_first(self):
        return self.order_by("-seq")

    def with_author(self):
        return self.select_related("author")


class Message(models.Model):
    """A message in a room. A deletion keeps a tombstone (body cleared) with its own seq."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(Identity, on_delete=models.PROTECT, related_name="messages")
    body = models.TextField()
    sent_at = models.DateTimeField(auto_now_add=True)
    client_id = models.CharField(max_length=64, null=True, blank=True)
    seq = models.BigIntegerField()
    deleted_seq = models.BigIntegerField(null=True, blank=True)

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
        ]

    def __str__(self):
        return f"{self.room.code}#{self.seq}"


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
    avatar_seed = models.CharField(max_length=32)
    channel_name = models.CharField(max_length=128, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()
    closing_at = models.DateTimeField(null=True, blank=True)

    objects = PresenceQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["room", "identity"], name="presence_room_identity"),
            models.Index(fields=["room", "public_id"], name="presence_room_public_id"),
            models.Index(fields=["public_id"], name="presence_public_id"),
        ]
