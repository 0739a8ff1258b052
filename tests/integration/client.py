"""A browser as the real servers see it: the page flow over HTTP (CSRF cookie, form post, session
cookie) and WebSockets through the `websockets` library. No Django test machinery here."""
import asyncio
import http.client
import json
import re
import ssl
from urllib.parse import urlencode, urlsplit

try:
    import websockets
    from websockets.asyncio.client import connect
except ImportError:  # conftest skips with the reason; importing this module must not fail
    websockets = connect = None

from tests.frames import assert_valid_frame

NOISE = {"join", "leave", "typing", "rename"}
UNVERIFIED = ssl._create_unverified_context()  # the loopback topology's self-signed certificate


class Browser:
    """One browser profile: a cookie jar shared by its pages and sockets, like a real one."""

    def __init__(self, base_url, *, headers=None, origin=None):
        """`headers` go with every request (e.g. what a TLS proxy adds); `origin` as the page's."""
        self.base_url = base_url
        self.headers = headers or {}
        self.origin = origin
        self.cookies = {}
        self.set_cookies = []  # every Set-Cookie line received, attributes included
        self.sockets = []

    def request(self, method, path, *, form=None, base_url=None):
        base = urlsplit(base_url or self.base_url)
        if base.scheme == "https":
            conn = http.client.HTTPSConnection(base.hostname, base.port, timeout=10, context=UNVERIFIED)
        else:
            conn = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        body = None
        if form is not None:
            body = urlencode(form)
            # Django's CSRF check compares Origin with scheme://Host (no Referer check when an
            # Origin is sent), so a browser's form post carries both.
            headers.update({"Content-Type": "application/x-www-form-urlencoded",
                            "Origin": self.origin or f"{base.scheme}://{base.netloc}"})
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            self.set_cookies.append(value)
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, text

    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def enter(self, *, name, action="create", code="", base_url=None):
        """The home page form: returns the room code the browser was redirected to."""
        status, _, _ = self.request("GET", "/", base_url=base_url)
        assert status == 200
        form = {"name": name, "code": code, "action": action, "csrfmiddlewaretoken": self.cookies["csrftoken"]}
        status, headers, text = self.request("POST", "/", form=form, base_url=base_url)
        assert status == 302, (status, text[:500])
        match = re.fullmatch(r"/rooms/([^/]+)/", headers["Location"])
        assert match, headers["Location"]
        assert "chat_identity" in self.cookies
        return match.group(1)

    async def open(self, code, *, base_url=None, after=None, expect_hello=True):
        base = urlsplit(base_url or self.base_url)
        path = f"/ws/rooms/{code}/" + (f"?after={after}" if after is not None else "")
        secure = base.scheme == "https"
        socket = Socket(await connect(
            f"{'wss' if secure else 'ws'}://{base.netloc}{path}", origin=self.origin or f"{base.scheme}://{base.netloc}",
            additional_headers={**self.headers, "Cookie": self.cookie_header()}, open_timeout=10, close_timeout=3,
            ssl=UNVERIFIED if secure else None,
        ))
        self.sockets.append(socket)
        if expect_hello:
            socket.hello = await socket.expect("hello")
        return socket

    async def close(self):
        for socket in self.sockets:
            await socket.close()


class Socket:
    """A room socket; a reader task keeps every frame, ticks apart, for later assertions."""

    def __init__(self, ws):
        self.ws = ws
        self.hello = None
        self.frames = []  # every non-tick frame, in arrival order
        self.ticks = []
        self.close_code = None
        self._queue = asyncio.Queue()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self):
        try:
            async for text in self.ws:
                frame = json.loads(text)
                assert_valid_frame(frame)
                if frame["type"] == "tick":
                    self.ticks.append(frame)
                    self._queue.put_nowait(frame)
                    continue
                self.frames.append(frame)
                self._queue.put_nowait(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self._queue.put_nowait(None)

    async def send(self, frame):
        await self.ws.send(json.dumps(frame))

    async def next(self, timeout=5, ticks=False):
        """The next frame (ticks skipped unless asked for); None once the socket closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no frame within {timeout} s")
            frame = await asyncio.wait_for(self._queue.get(), remaining)
            if frame is None:
                self._queue.put_nowait(None)
                return None
            if frame["type"] != "tick" or ticks:
                return frame

    async def expect(self, kind, timeout=5, skip=NOISE, **fields):
        """The next frame of `kind` (with `fields` when given), skipping presence/typing noise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            try:
                frame = await self.next(max(remaining, 0.001), ticks=kind == "tick")
            except TimeoutError:
                raise TimeoutError(f"no {kind} {fields or ''} within {timeout} s; got {self.frames[-5:]}") from None
            if frame is None:
                raise AssertionError(f"socket closed ({self.close_code}) while waiting for {kind}")
            if frame["type"] == kind and all(_matches(frame, k, v) for k, v in fields.items()):
                return frame
            assert frame["type"] in skip or frame["type"] == kind or frame["type"] == "tick", frame

    async def nothing(self, kinds, timeout=1.0):
        """No frame of `kinds` arrives within `timeout` (other frames are let through)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            try:
                frame = await self.next(remaining)
            except TimeoutError:
                return True
            if frame is None:
                return True
            assert frame["type"] not in kinds, frame
        return True

    async def close(self):
        await self.ws.close()
        try:
            await asyncio.wait_for(self._reader, 5)
        except Exception:
            pass

    def messages(self):
        """Message frames received live (not hello's page), in arrival order."""
        return [f for f in self.frames if f["type"] == "message"]


def _matches(frame, key, expected):
    value = frame
    for part in key.split("__"):
        value = value.get(part) if isinstance(value, dict) else None
    return value == expected


class RoomView:
    """What a page shows, built by the client rules of docs/protocol.md ("Sequence numbers"):
    apply the next seq, ignore what it has, `sync` on a gap or on a tick that is ahead."""

    def __init__(self, socket):
        self.socket = socket
        self.seq = socket.hello["room"]["seq"]
        self.shown = {m["id"]: m for m in socket.hello["messages"] if m["type"] == "message"}
        self.order = list(self.shown)
        self.syncs = 0
        self.ignored = 0

    def _apply(self, change):
        if change["type"] == "delete":
            self.shown.pop(change["id"], None)
        elif change["id"] in self.shown:
            self.ignored += 1
            return
        else:
            self.shown[change["id"]] = change
            self.order.append(change["id"])
        self.seq = max(self.seq, change["seq"])

    async def _sync(self):
        self.syncs += 1
        await self.socket.send({"type": "sync", "after": self.seq})
        while True:
            answer = await self.socket.expect("sync", skip=NOISE | {"message", "delete"}, timeout=10)
            for change in answer["messages"]:
                self._apply(change)
            self.seq = max(self.seq, answer["seq"])
            if not answer["has_more"]:
                return
            await self.socket.send({"type": "sync", "after": self.seq})

    async def follow(self, until, timeout=20):
        """Apply frames as they come until `until(self)` holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not until(self):
            frame = await self.socket.next(timeout=max(deadline - loop.time(), 0.001), ticks=True)
            assert frame is not None, f"socket closed ({self.socket.close_code})"
            if frame["type"] in {"message", "delete"}:
                if frame["seq"] <= self.seq:
                    self.ignored += 1
                elif frame["seq"] == self.seq + 1:
                    self._apply(frame)
                else:
                    await self._sync()
            elif frame["type"] == "tick" and frame["seq"] > self.seq:
                await self._sync()

    def messages(self):
        """The messages on screen, in the order they were placed."""
        return [self.shown[i] for i in self.order if i in self.shown]


async def pair_across_workers(topology, browsers):
    """Alice on worker 0 creates a room, Bob joins it on worker 1; both sockets open.

    Returns (code, alice, bob, alice's socket, bob's socket).
    """
    one, two = topology.workers
    alice, bob = browsers(one.url), browsers(two.url)
    code = alice.enter(name="Alice")
    bob.enter(name="Bob", action="join", code=code)
    a = await alice.open(code)
    b = await bob.open(code)
    await a.expect("join", member__name="Bob")
    return code, alice, bob, a, b
