"""A browser as the real servers see it: the page flow and the WebSocket client of bench/
(bench/pageflow.py, bench/wsclient.py), with sockets whose every frame is checked against the
protocol. No Django test machinery here."""
import asyncio
import json

from bench import pageflow
from tests.frames import assert_valid_frame

NOISE = {"join", "leave", "typing", "rename"}


class Browser(pageflow.Browser):
    """One browser profile (bench/pageflow.py) whose sockets are `Socket`s, closed with it."""

    def __init__(self, base_url, **options):
        super().__init__(base_url, **options)
        self.sockets = []

    async def open(self, code, *, base_url=None, after=None, expect_hello=True):
        path = f"/ws/rooms/{code}/" + (f"?after={after}" if after is not None else "")
        socket = Socket(await self.ws_open(path, base_url=base_url, timeout=10))
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
    code = await alice.enter(name="Alice")
    await bob.enter(name="Bob", action="join", code=code)
    a = await alice.open(code)
    b = await bob.open(code)
    await a.expect("join", member__name="Bob")
    return code, alice, bob, a, b
