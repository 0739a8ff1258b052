"""A bot of a room and its webhook deliveries (the outbox and the delivery log at once)."""
from django.conf import settings
from django.db import models
from django.db.models import Q


class Bot(models.Model):
    """A program that acts in one room as an identity of its own, with a token (only its hash kept)."""

    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="bots")
    identity = models.OneToOneField("rooms.Identity", on_delete=models.PROTECT, related_name="bot")
    token_hash = models.CharField(max_length=64, unique=True)  # sha256 hex of the token
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    webhook_url = models.URLField(max_length=500, blank=True, default="")
    # The HMAC-SHA256 key of the deliveries' signature (the receiver keeps a copy).
    webhook_secret = models.CharField(max_length=64, blank=True, default="")
    webhook_mentions_only = models.BooleanField(
        default=False, help_text="Deliver only messages that mention the bot (else every message of its room).")

    def __str__(self):
        return f"{self.identity.name} ({self.room.code})"

    @property
    def active(self):
        return self.revoked_at is None


class BotDelivery(models.Model):
    """One message to POST to one bot's webhook. Written in the message's own transaction, so
    none is lost; claimed by a worker for a lease (`next_attempt_at` moves past the request's
    timeout), so a worker killed mid-delivery leaves it due again: at least once."""

    PENDING, DELIVERED, FAILED, DROPPED = "pending", "delivered", "failed", "dropped"
    STATUSES = [(PENDING, "pending"), (DELIVERED, "delivered"), (FAILED, "failed (gave up)"),
                (DROPPED, "dropped (bot revoked or webhook removed)")]

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.BigIntegerField()
    seq = models.BigIntegerField()
    payload = models.TextField()  # the protocol's `message` frame, as JSON: the request body
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    reply_message_id = models.BigIntegerField(null=True, blank=True)  # the bot's answer, if it gave one

    class Meta:
        verbose_name_plural = "bot deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="botdelivery_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["bot", "message_id"], name="botdelivery_bot_message_unique"),
        ]

    def __str__(self):
        return f"{self.bot} #{self.seq} {self.status}"
