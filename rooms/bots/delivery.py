"""The webhook worker: claims due deliveries (rooms/bots/outbox.py), POSTs them signed, posts a
bot's JSON answer in its room, retries with back-off.

Where it runs: CHAT_WEBHOOK_WORKER=loop (the default) starts one delivery loop on each server
worker's event loop at its first request or socket (chatsite/asgi.py), so one process delivers
with nothing else to start, and a bot's answer goes out through that worker's own fan-out;
CHAT_WEBHOOK_WORKER=off leaves it to `manage.py deliver_webhooks`. Any number of loops may run:
a claim takes due rows with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, and SQLite's
IMMEDIATE transactions let one claimer at a time. A claim moves the row's `next_attempt_at` a
lease ahead (longer than a request may take), so a worker killed mid-delivery leaves the row due
again when the lease ends: at least once. The request and the database work run on threads of
the loop's own (never the message writer's database thread), so delivering never slows sending.
"""
import asyncio
import hashlib
import hmac
import http.client
import json
import logging
import socket
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from rooms import protocol
from rooms.bots import addresses, outbox
from rooms.bots.models import BotDelivery
from rooms.errors import ChatError

log = logging.getLogger("rooms.bots")

SIGNATURE_HEADER = "X-Chatsite-Signature"
USER_AGENT = "chatsite-webhooks/1"

_loops = weakref.WeakKeyDictionary()  # event loop -> its delivery task


def signature(secret, body):
    """The header value for a body: sha256=<hex of HMAC-SHA256(secret, body)>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def lease():
    return timedelta(seconds=3 * settings.CHAT_WEBHOOK_TIMEOUT_SECONDS + 5)


def backoff(attempts):
    return min(settings.CHAT_WEBHOOK_BACKOFF_MAX_SECONDS, settings.CHAT_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1))


# ---- database steps (each one short transaction) ----

def claim(limit):
    """Due deliveries, leased to this worker (attempts counted), with their bots."""
    now = timezone.now()
    due = BotDelivery.objects.filter(status=BotDelivery.PENDING, next_attempt_at__lte=now)
    # A plain read first (the partial index `botdelivery_due`): an idle worker's poll takes no
    # lock, which on SQLite would be the database's one write lock, wanted by the messages.
    if not due.exists():
        return []
    with transaction.atomic():
        due = due.order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due.select_related("bot__identity", "bot__room")[:limit])
        if rows:
            BotDelivery.objects.filter(id__in=[r.id for r in rows]).update(
                next_attempt_at=now + lease(), attempts=F("attempts") + 1)
            for row in rows:
                row.attempts += 1
    return rows


def finish(row, *, status, code=None, error="", reply_id=None):
    now = timezone.now()
    fields = {"last_status_code": code, "last_error": error[:2000]}
    if status == BotDelivery.PENDING:
        if row.attempts >= settings.CHAT_WEBHOOK_MAX_ATTEMPTS:
            fields["status"] = BotDelivery.FAILED
        else:
            fields["next_attempt_at"] = now + timedelta(seconds=backoff(row.attempts))
    else:
        fields["status"] = status
        if status == BotDelivery.DELIVERED:
            fields.update(delivered_at=now, reply_message_id=reply_id)
    BotDelivery.objects.filter(pk=row.pk, status=BotDelivery.PENDING).update(**fields)


# ---- the request ----

class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to by then."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url, body, headers):
    """POST `body` to a checked address of `url` -> (status, answer bytes or None if too long).
    Raises ChatError (refused URL) or OSError/HTTPException (unreachable, too slow)."""
    scheme, host, port, path, address = addresses.resolve(url)
    kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = kind(host, port, address, settings.CHAT_WEBHOOK_TIMEOUT_SECONDS)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        limit = settings.CHAT_WEBHOOK_MAX_RESPONSE_BYTES
        answer = response.read(limit + 1)
        return response.status, (answer if len(answer) <= limit else None), response.getheader("Content-Type") or ""
    finally:
        conn.close()


def _reply(answer, content_type):
    """The frame arguments of a bot's answer ({"body": ..., "reply_to": ...}), None for no answer."""
    if not answer or "json" not in content_type:
        return None
    try:
        data = json.loads(answer)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("body") in (None, ""):
        return None
    _, args = protocol.parse_client_frame(protocol.dumps(
        {"type": "message", "body": data.get("body"), "reply_to": data.get("reply_to")}))
    return args


# ---- the loop ----

class DeliveryLoop:
    def __init__(self):
        self.db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-db")
        self.http_executor = ThreadPoolExecutor(max_workers=max(1, settings.CHAT_WEBHOOK_CONCURRENCY),
                                                thread_name_prefix="webhook-http")
        self.wakeup = asyncio.Event()

    def _db(self, function, *args, **kwargs):
        def call():
            # In the loop's own context, where asgiref keeps this thread's connection: one that
            # broke (the database restarted) or outlived CONN_MAX_AGE is replaced.
            close_old_connections()
            try:
                return function(*args, **kwargs)
            finally:
                close_old_connections()

        return DatabaseSyncToAsync(call, thread_sensitive=False, executor=self.db_executor)()

    async def run(self, stop=None):
        loop = asyncio.get_running_loop()
        waker = lambda: loop.call_soon_threadsafe(self.wakeup.set)  # noqa: E731
        outbox._wakers.append(waker)
        try:
            while stop is None or not stop.is_set():
                self.wakeup.clear()
                try:
                    rows = await self._db(claim, settings.CHAT_WEBHOOK_CONCURRENCY)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("claiming webhook deliveries failed", exc_info=True)
                    rows = []
                if rows:
                    await asyncio.gather(*(self.deliver(row) for row in rows))
                    continue
                try:
                    await asyncio.wait_for(self.wakeup.wait(), settings.CHAT_WEBHOOK_POLL_SECONDS)
                except TimeoutError:
                    pass
        finally:
            outbox._wakers.remove(waker)

    async def deliver(self, row):
        try:
            await self._deliver(row)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the row stays leased and is tried again after its lease
            log.warning("webhook delivery %s failed", row.pk, exc_info=True)
            try:
                await self._db(finish, row, status=BotDelivery.PENDING, error=repr(exc))
            except Exception:
                pass

    async def _deliver(self, row):
        from rooms.live import writer

        bot = row.bot
        if bot.revoked_at is not None or not bot.webhook_url:
            await self._db(finish, row, status=BotDelivery.DROPPED)
            return
        body = row.payload.encode()
        headers = {
            "Content-Type": "application/json", "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature(bot.webhook_secret, body),
            "X-Chatsite-Delivery": str(row.pk), "X-Chatsite-Event": "message",
        }
        loop = asyncio.get_running_loop()
        try:
            status, answer, content_type = await loop.run_in_executor(
                self.http_executor, post, bot.webhook_url, body, headers)
        except ChatError as exc:
            await self._db(finish, row, status=BotDelivery.PENDING, error=exc.detail)
            return
        except (OSError, http.client.HTTPException) as exc:
            await self._db(finish, row, status=BotDelivery.PENDING, error=f"{type(exc).__name__}: {exc}")
            return
        if not 200 <= status < 300:
            await self._db(finish, row, status=BotDelivery.PENDING, code=status, error=f"HTTP {status}")
            return
        note, reply_id = "", None
        if answer is None:
            note = f"answer longer than {settings.CHAT_WEBHOOK_MAX_RESPONSE_BYTES} bytes: not read"
        else:
            try:
                args = _reply(answer, content_type)
                if args is not None:
                    # The delivery's id as client_id: a delivery made again after a crash posts no second answer.
                    frame, _ = await writer.message_send(room=bot.room, author=bot.identity, body=args["body"],
                                                         client_id=f"webhook-{row.pk}", reply_to=args["reply_to"])
                    reply_id = frame["id"]
            except ChatError as exc:
                note = f"answer not posted: {exc.code}: {exc.detail}"
        await self._db(finish, row, status=BotDelivery.DELIVERED, code=status, error=note, reply_id=reply_id)


def ensure_running():
    """Start this event loop's delivery loop once (CHAT_WEBHOOK_WORKER=loop)."""
    if settings.CHAT_WEBHOOK_WORKER != "loop":
        return
    loop = asyncio.get_running_loop()
    task = _loops.get(loop)
    if task is None or task.done():
        _loops[loop] = loop.create_task(DeliveryLoop().run())


class WithDeliveries:
    """ASGI wrapper: the worker's delivery loop starts with its first request or socket."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            ensure_running()
        return await self.app(scope, receive, send)
