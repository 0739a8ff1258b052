"""Webhook deliveries written in the same transaction as the messages they carry (the message
writer's group commit calls `enqueue`), so a message is stored with its deliveries or not at all.

The message path pays for it only in rooms with webhook bots: which rooms have them is read at
most every CHAT_WEBHOOK_BOTS_CACHE_SECONDS per process (a bot made on another process starts
getting messages within that), and a room without one costs a dict lookup. Messages written by
bots are never delivered to webhooks: two bots answering each other would never stop.
"""
import re
import threading
import time
from collections import namedtuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from rooms import protocol
from rooms.bots import BOT_ID_PREFIX

_Hook = namedtuple("_Hook", "bot_id public_id name mentions_only")

_cache = {"at": float("-inf"), "rooms": {}}
_lock = threading.Lock()
_wakers = []  # callables that wake the delivery loops of this process (rooms/bots/delivery.py)


def forget_bots():
    """A bot was made, changed or revoked here: read the webhook bots again at the next message."""
    _cache["at"] = float("-inf")


def _hooks_by_room():
    from rooms.bots.models import Bot

    now = time.monotonic()
    if now - _cache["at"] >= settings.CHAT_WEBHOOK_BOTS_CACHE_SECONDS:
        with _lock:
            rooms = {}
            rows = (Bot.objects.filter(revoked_at__isnull=True).exclude(webhook_url="")
                    .values_list("id", "room_id", "identity__public_id", "identity__name", "webhook_mentions_only"))
            for bot_id, room_id, public_id, name, mentions_only in rows:
                rooms.setdefault(room_id, []).append(_Hook(bot_id, public_id, name, mentions_only))
            _cache["rooms"], _cache["at"] = rooms, now
    return _cache["rooms"]


def _mentions(hook, frame):
    if hook.public_id in frame["mentions"]:
        return True
    # A bot is not always present or a writer of the room, where @mentions are looked for.
    return re.search(r"(?<!\w)@" + re.escape(hook.name) + r"(?!\w)", frame["body"], re.IGNORECASE) is not None


def enqueue(rooms, frames_by_room):
    """In the message transaction: a delivery row per new message per webhook bot of its room.
    `rooms` maps room codes to rooms; `frames_by_room` is the writer's {code: [message frames]}."""
    hooks = _hooks_by_room()
    if not hooks:
        return
    now = timezone.now()
    rows = []
    for code, frames in frames_by_room.items():
        room_hooks = hooks.get(rooms[code].id)
        if not room_hooks:
            continue
        for frame in frames:
            if frame["author"]["id"].startswith(BOT_ID_PREFIX):
                continue
            payload = None
            for hook in room_hooks:
                if hook.mentions_only and not _mentions(hook, frame):
                    continue
                payload = payload or protocol.dumps(frame)
                rows.append((hook.bot_id, frame["id"], frame["seq"], payload))
    if rows:
        _insert(rows, now)
        transaction.on_commit(wake)


def _insert(rows, now):
    """One INSERT for the batch's deliveries: the ORM's bulk_create of model instances cost
    about twice as much per message (bench/outbox.py)."""
    from rooms.bots.models import BotDelivery

    table = connection.ops.quote_name(BotDelivery._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    columns = "bot_id, message_id, seq, payload, status, attempts, next_attempt_at, created_at, last_error"
    for start in range(0, len(rows), 100):
        chunk = rows[start:start + 100]
        values = ", ".join(["(%s, %s, %s, %s, %s, 0, %s, %s, '')"] * len(chunk))
        params = [v for bot_id, message_id, seq, payload in chunk
                  for v in (bot_id, message_id, seq, payload, BotDelivery.PENDING, at, at)]
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", params)


def wake():
    for waker in list(_wakers):
        waker()
