"""Abuse guards in front of the chat: per-address socket, room-code-guess, flood-strike and
room-creation limits, per-socket frame size and flood limits. Settings CHAT_WS_PER_ADDRESS,
CHAT_CODE_GUESS_LIMIT, CHAT_FLOOD_STRIKES, CHAT_ROOM_CREATE_LIMIT, CHAT_FRAME_MAX_BYTES and
CHAT_FLOOD_LIMIT; all are documented in docs/protocol.md.

An address is scope["client"] (REMOTE_ADDR for views), an IPv6 one counted by its /64. Behind a
reverse proxy run daphne with --proxy-headers, or every visitor shares the proxy's address. A socket without an address (a
Unix socket, the test communicator) gets no per-address limit: one shared bucket would let a
single abuser lock everybody out. Counts live in this process without REDIS_URL; with it they
live in Redis, shared by every worker (rooms/live/shared.py): the checks on the event loop are
then awaited (the `a…` methods of Guards).
"""
import ipaddress
import logging
import threading
import time
from collections import OrderedDict, deque

from django.conf import settings
from django.http import HttpResponse
from django.urls import Resolver404, resolve

from rooms import protocol
from rooms.live import shared as shared_limits
from rooms.live.ratelimit import SlidingWindow, parse_rate

log = logging.getLogger("rooms.guards")

CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_RATE_LIMITED = 4429  # like HTTP 429: this address or socket must slow down


class KeyedWindow:
    """At most `count` events per key in any `seconds`; remembers at most `max_keys` keys.

    When more keys come, the least recent key that is *not* at its limit is forgotten: a blocked
    key stays until its window has passed, so a guesser with many addresses cannot unblock one
    of them by making the others known. A key at its limit costs one deque of `count` times.
    Adding is one step under a lock (threaded HTTP servers count here too).
    """

    def __init__(self, rate, max_keys=10_000, clock=time.monotonic):
        self.rate = rate
        self.max_keys = max_keys
        self.clock = clock
        self.events = OrderedDict()
        self.lock = threading.Lock()

    def _recent(self, key, now):
        hits = self.events.get(key)
        if hits is None:
            return None
        while hits and now - hits[0] >= self.rate[1]:
            hits.popleft()
        if not hits:
            del self.events[key]
            return None
        return hits

    def add(self, key):
        """Record an event; returns True if this event filled the key's window."""
        if self.rate is None:
            return False
        with self.lock:
            now = self.clock()
            return self._add(key, now, self._recent(key, now))

    def _add(self, key, now, hits):
        if hits is None:
            hits = self.events[key] = deque(maxlen=self.rate[0])
        self.events.move_to_end(key)
        hits.append(now)
        if len(self.events) > self.max_keys:
            self._forget_clean(now)
        return len(hits) == self.rate[0]

    def take(self, key):
        """Check and count in one step: False if `key` is at its limit (nothing counted), else
        count the event and say True."""
        if self.rate is None:
            return True
        with self.lock:
            now = self.clock()
            hits = self._recent(key, now)
            if hits is not None and len(hits) >= self.rate[0]:
                return False
            self._add(key, now, hits)
            return True

    def _forget_clean(self, now):
        for key in list(self.events):
            if len(self.events) <= self.max_keys:
                return
            hits = self._recent(key, now)
            if hits is not None and len(hits) < self.rate[0]:
                del self.events[key]

    def retry_after(self, key):
        """Seconds until `key` may act again; 0 when it is below its limit."""
        if self.rate is None:
            return 0.0
        with self.lock:
            now = self.clock()
            hits = self._recent(key, now)
            if hits is None or len(hits) < self.rate[0]:
                return 0.0
            return max(0.0, self.rate[1] - (now - hits[0]))

    def __len__(self):
        return len(self.events)


def _window(rate, name, in_redis):
    return shared_limits.RedisWindow(rate, name) if in_redis else KeyedWindow(rate)


async def _atake(window, key):
    return await window.atake(key) if hasattr(window, "atake") else window.take(key)


async def _aretry_after(window, key):
    return await window.aretry_after(key) if hasattr(window, "aretry_after") else window.retry_after(key)


class Guards:
    """The state per address: open sockets, room-code misses, closes for flooding; in this
    process, or in Redis for every worker at once when `in_redis`."""

    def __init__(self, code_guess_rate, flood_strike_rate=None, room_create_rate=None, in_redis=False):
        self.in_redis = in_redis
        self.code_guess_rate = code_guess_rate
        self.code_misses = _window(code_guess_rate, "code-misses", in_redis)
        self.flood_strike_rate = flood_strike_rate
        self.flood_strikes = _window(flood_strike_rate, "flood-strikes", in_redis)
        self.room_create_rate = room_create_rate
        self.room_creates = _window(room_create_rate, "room-creates", in_redis)
        self.open_sockets = {}
        self.redis_sockets = shared_limits.RedisSockets() if in_redis else None

    def room_create_allowed(self, address):
        """Check and count a room creation of `address` (CHAT_ROOM_CREATE_LIMIT) in one step."""
        return address is None or self.room_creates.take(address)

    def flood_strike(self, address):
        """A socket of `address` was closed for flooding. Reconnecting would give it fresh
        per-socket limits, so past CHAT_FLOOD_STRIKES its new sockets are refused for a while."""
        if address is None:
            return
        if self.flood_strikes.add(address):
            count, seconds = self.flood_strike_rate
            log.warning("flooding again and again: %s had %d sockets closed for flooding in %g s; "
                        "new sockets refused for a while", address, count, seconds)

    def code_answer(self, address, found, code, via):
        """A room lookup of `address` is about to be answered. Check and count in one step (no
        await between them), so lookups that were in flight together cannot all be answered past
        the limit: False means the address is blocked now, and the caller refuses instead of
        answering (even a real code: answering it would tell a guesser that it exists)."""
        if address is None:
            return True
        if found:
            return not self.code_misses.retry_after(address)
        if not self.code_misses.take(address):
            return False
        log.info("room code miss from %s via %s: %r", address, via, code[:16])
        if self.code_misses.retry_after(address):
            count, seconds = self.code_guess_rate
            log.warning("room code guessing: %s missed %d codes in %g s; lookups refused for a while",
                        address, count, seconds)
        return True

    def code_retry_after(self, address):
        return 0.0 if address is None else self.code_misses.retry_after(address)

    # ---- the same checks on the event loop (awaited: Redis when shared) ----

    async def acode_answer(self, address, found, code, via):
        if not self.in_redis:
            return self.code_answer(address, found, code, via)
        if address is None:
            return True
        if found:
            return not await _aretry_after(self.code_misses, address)
        if not await _atake(self.code_misses, address):
            return False
        log.info("room code miss from %s via %s: %r", address, via, code[:16])
        if await _aretry_after(self.code_misses, address):
            count, seconds = self.code_guess_rate
            log.warning("room code guessing: %s missed %d codes in %g s; lookups refused for a while",
                        address, count, seconds)
        return True

    async def acode_retry_after(self, address):
        return 0.0 if address is None else await _aretry_after(self.code_misses, address)

    async def aflood_strike(self, address):
        if not self.in_redis:
            return self.flood_strike(address)
        if address is not None and await self.flood_strikes.aadd(address):
            count, seconds = self.flood_strike_rate
            log.warning("flooding again and again: %s had %d sockets closed for flooding in %g s; "
                        "new sockets refused for a while", address, count, seconds)

    async def aflood_retry_after(self, address):
        return 0.0 if address is None else await _aretry_after(self.flood_strikes, address)

    async def asocket_open(self, address, limit):
        """Check and count a socket of `address` in one step: (whether it may open, its token
        for asocket_closed)."""
        if self.redis_sockets is not None:
            return await self.redis_sockets.open(address, limit)
        if self.open_sockets.get(address, 0) >= limit > 0:
            return False, None
        self.socket_opened(address)
        return True, None

    async def asocket_closed(self, address, token):
        if self.redis_sockets is not None:
            await self.redis_sockets.close(address, token)
        else:
            self.socket_closed(address)

    def socket_opened(self, address):
        self.open_sockets[address] = self.open_sockets.get(address, 0) + 1

    def socket_closed(self, address):
        left = self.open_sockets.get(address, 0) - 1
        if left > 0:
            self.open_sockets[address] = left
        else:
            self.open_sockets.pop(address, None)


_guards = None


def guards():
    """The shared Guards, rebuilt when the configured guess rate changes (tests change settings)."""
    global _guards
    rates = (parse_rate(settings.CHAT_CODE_GUESS_LIMIT), parse_rate(settings.CHAT_FLOOD_STRIKES),
             parse_rate(settings.CHAT_ROOM_CREATE_LIMIT), shared_limits.enabled())
    if _guards is None or (_guards.code_guess_rate, _guards.flood_strike_rate, _guards.room_create_rate,
                           _guards.in_redis) != rates:
        _guards = Guards(*rates)
    return _guards


def reset():
    """Forget every count (for tests), in Redis too when shared."""
    global _guards
    _guards = None
    shared_limits.forget_all()


def address_key(host):
    """The key an address is counted under: an IPv4 address as it is, an IPv6 one by its /64
    (one household or host gets a whole /64, so counting single IPv6 addresses counts nothing)."""
    if not host or ":" not in host:
        return host or None
    try:
        return str(ipaddress.IPv6Network(f"{host.split('%')[0]}/64", strict=False).network_address) + "/64"
    except ValueError:
        return host


def client_address(scope):
    client = scope.get("client")
    return address_key(client[0]) if client else None


def request_address(request):
    return address_key(request.META.get("REMOTE_ADDR") or None)


def _too_big(message, limit):
    if limit <= 0:
        return False
    text, data = message.get("text"), message.get("bytes")
    if text is not None:
        # A character is 1 to 4 bytes of UTF-8: only encode when the length alone cannot tell.
        return len(text) > limit or (len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit)
    return data is not None and len(data) > limit


class WebSocketGuard:
    """ASGI middleware for the room socket: refuses or closes what a browser tab never does."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        shared = guards()
        address = client_address(scope)
        refusal = await self._refusal(shared, address)
        token = None
        if refusal is None and address is not None:
            allowed, token = await shared.asocket_open(address, settings.CHAT_WS_PER_ADDRESS)
            if not allowed:
                log.info("socket refused: %s already has %d open", address, settings.CHAT_WS_PER_ADDRESS)
                refusal = f"Too many open connections from your address (at most {settings.CHAT_WS_PER_ADDRESS})."
        if refusal:
            return await _refuse(receive, send, refusal)
        try:
            connection = _GuardedSocket(shared, address, scope, receive, send)
            return await self.app(scope, connection.receive, connection.send)
        finally:
            if address is not None:
                await shared.asocket_closed(address, token)

    @staticmethod
    async def _refusal(shared, address):
        if address is None:
            return None
        wait = await shared.acode_retry_after(address)
        if wait:
            return _guessing(wait)
        wait = await shared.aflood_retry_after(address)
        if wait:
            return f"Too many connections from your address were closed for flooding; try again in {wait:.0f} s."
        return None


def _guessing(wait):
    return f"Too many wrong room codes from your address; try again in {wait:.0f} s."


async def _refuse(receive, send, detail):
    """Accept, say why, close with 4429. Accept first: a close before accept is a bare HTTP 403."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": protocol.dumps(protocol.error(protocol.RATE_LIMITED, detail))})
    await send({"type": "websocket.close", "code": CLOSE_RATE_LIMITED})


class _GuardedSocket:
    """One socket's receive and send, with the frame-size and flood checks between them and the app."""

    __slots__ = ("shared", "address", "scope", "_receive", "_send", "frames", "max_bytes", "closed", "answered")  # one per socket

    def __init__(self, shared, address, scope, receive, send):
        self.shared = shared
        self.address = address
        self.scope = scope
        self._receive = receive
        self._send = send
        self.frames = SlidingWindow(parse_rate(settings.CHAT_FLOOD_LIMIT))
        self.max_bytes = settings.CHAT_FRAME_MAX_BYTES
        self.closed = False
        self.answered = False  # whether the room lookup has been answered (hello or 4404)

    async def receive(self):
        message = await self._receive()
        if message["type"] != "websocket.receive" or self.closed:
            return message
        if _too_big(message, self.max_bytes):
            detail = f"A frame can be at most {self.max_bytes} bytes."
            return await self._close(protocol.FRAME_TOO_LARGE, detail, CLOSE_MESSAGE_TOO_BIG)
        if not self.frames.allow():
            log.warning("socket closed for flooding: %s sent more than %s frames", self.address, settings.CHAT_FLOOD_LIMIT)
            await self.shared.aflood_strike(self.address)
            return await self._close(protocol.RATE_LIMITED, "Far too many frames; closing this connection.", CLOSE_RATE_LIMITED)
        return message

    async def send(self, message):
        if self.closed:
            return  # the guard closed this socket; what the app still had in flight goes nowhere
        if not self.answered and message["type"] in ("websocket.send", "websocket.close"):
            self.answered = True
            missed = message["type"] == "websocket.close" and message.get("code") == protocol.CLOSE_ROOM_NOT_FOUND
            if message["type"] == "websocket.send" or missed:  # the room's hello, or no such room
                code = self.scope.get("path", "").rstrip("/").rpartition("/")[2]
                if not await self.shared.acode_answer(self.address, not missed, code, "ws"):
                    wait = await self.shared.acode_retry_after(self.address)
                    await self._close(protocol.RATE_LIMITED, _guessing(wait), CLOSE_RATE_LIMITED)
                    return
        if message["type"] == "websocket.close":
            self.closed = True
        await self._send(message)

    async def _close(self, code, detail, close_code):
        """Tell the client why, close, and hand the app a disconnect so it cleans up at once."""
        self.closed = True
        await self._send({"type": "websocket.send", "text": protocol.dumps(protocol.error(code, detail))})
        await self._send({"type": "websocket.close", "code": close_code})
        return {"type": "websocket.disconnect", "code": close_code}


class RoomCodeGuessMiddleware:
    """Django middleware: counts room-code misses per address (a 404 on a room page, a failed
    join on the home form) and answers 429 to an address over CHAT_CODE_GUESS_LIMIT."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        lookup = _code_lookup(request)
        if lookup is None:
            return self.get_response(request)
        shared = guards()
        address = request_address(request)
        if shared.code_retry_after(address):
            return _too_many_guesses(shared, address)
        response = self.get_response(request)
        if lookup[0] == "page":
            # A permalink's room can exist while its message does not: that 404 says so.
            missed = getattr(response, "room_code_missed", response.status_code == 404)
        else:
            missed = response.status_code == 200
        if not shared.code_answer(address, not missed, lookup[1], "http"):
            return _too_many_guesses(shared, address)
        return response


def _too_many_guesses(shared, address):
    wait = shared.code_retry_after(address)
    response = HttpResponse(_guessing(wait) + "\n", status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(int(wait) + 1)
    return response


def _code_lookup(request):
    """('page', code) for a room page, ('join', code) for the home form's join; None otherwise."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.url_name in {"room", "permalink", "room_search", "room_export", "room_bots"} and request.method == "GET":
        return "page", match.kwargs.get("code", "")
    # A join that fails re-renders the form (200); one that works redirects to the room.
    if match.url_name == "home" and request.method == "POST" and request.POST.get("action") == "join":
        return "join", request.POST.get("code", "")
    return None
