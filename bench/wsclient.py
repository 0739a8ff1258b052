"""The one WebSocket client of bench/ and the tests: RFC 6455 on a bare socket, deliberately no library.

Two users pull in opposite directions, and one codec serves both:

- The load generator must stay cheap per frame: at 20,000+ receipts a second on its one core a
  general-purpose client would become the bottleneck, and the figures would then describe the
  load generator instead of the server.
- The hardening tests must send what no library sends: a header announcing more than follows,
  invalid UTF-8, fragments, a frame written in pieces split at odd bytes, a small receive buffer.

Layers, from the wire up:

- Frames and handshake: `encode_frame` builds any frame (any opcode, FIN or not, a length that
  lies); `FrameParser` cuts complete frames out of the bytes received, joins fragments and calls
  back for each message, inline, with no per-frame object (the load generator's hot loop);
  `handshake` and `parse_head` are the HTTP upgrade.
- `WSClient`: a FrameParser that is an asyncio.Protocol, calling `on_frame(client, payload,
  at_us)` for every message; what the load generator opens by the thousand (`ws_connect`).
- `Connection`: the same client read through a queue, `await recv()` or `async for`, for tests
  that await frames one by one (tests/integration); `connect(url)` opens one.
- `BlockingSocket`: a FrameParser fed from a blocking socket, for sync tests (tests/hardening),
  which may also reach the socket itself (`.sock`), e.g. to stop reading.
"""
import asyncio
import base64
import http.client
import io
import json
import os
import socket
import ssl as ssl_module
import time
from collections import deque
from urllib.parse import urlsplit

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
ABNORMAL = 1006  # the close code of a connection that ended without a close frame (RFC 6455 7.1.5)
CLOCK_ORIGIN = time.perf_counter()
UNVERIFIED = ssl_module._create_unverified_context()  # loopback TLS has a throwaway self-signed certificate


def now_us():
    """Microseconds on the clock receipts are stamped with (perf_counter since this module loaded)."""
    return int((time.perf_counter() - CLOCK_ORIGIN) * 1_000_000)


class HandshakeError(ConnectionError):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, status):
        super().__init__(f"upgrade refused: HTTP {status}")
        self.status = status


# ---------------------------------------------------------------- frames and handshake

def mask(payload, key):
    """`payload` XOR the 4-byte `key` repeated: one big-integer XOR, not a loop over bytes."""
    n = len(payload)
    if not n:
        return b""
    return (int.from_bytes(payload, "big") ^ int.from_bytes((key * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")


def encode_frame(opcode, payload=b"", fin=True, announce=None):
    """One masked client frame. `fin=False` makes it a fragment; `announce` puts a length other
    than the payload's in the header (a frame that claims more than follows)."""
    length = len(payload) if announce is None else announce
    b0 = 0x80 | opcode if fin else opcode
    if length < 126:
        head = bytes((b0, 0x80 | length))
    elif length < 65536:
        head = bytes((b0, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((b0, 0x80 | 127)) + length.to_bytes(8, "big")
    key = os.urandom(4)
    return head + key + mask(payload, key)


class FrameParser:
    """Complete frames out of a byte stream, without I/O: `feed(data, at_us)` calls
    `on_frame(self, payload, at_us)` for each text message, `on_binary` (default: on_frame) for
    each binary one and `control(opcode, payload)` for close, ping and pong frames, which returns
    False to stop reading (after a close). A fragmented message comes out once, joined; control
    frames between its fragments come out as they arrive. Server frames are unmasked (RFC 6455 5.1).

    The loop calls back inline, without building a list or a tuple per frame: at 20,000+ frames
    a second on the load generator's one core, that is the cost that counts."""

    def __init__(self, on_frame, on_binary=None):
        self.on_frame = on_frame
        self.on_binary = on_binary or on_frame
        self.buf = bytearray()
        self.frag, self.frag_op = None, 0

    def control(self, opcode, payload):
        return opcode != CLOSE

    def feed(self, data, at_us=0):
        buf = self.buf
        buf += data
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            end = pos + head + length
            if end > size:
                break
            payload = bytes(buf[pos + head:end])
            pos = end
            opcode = b0 & 0x0F
            if opcode == CONTINUATION:
                self.frag += payload
                if not b0 & 0x80:
                    continue
                payload, opcode, self.frag = bytes(self.frag), self.frag_op, None
            elif opcode < CLOSE and not b0 & 0x80:
                self.frag, self.frag_op = bytearray(payload), opcode
                continue
            if opcode == TEXT:
                self.on_frame(self, payload, at_us)
            elif opcode == BINARY:
                self.on_binary(self, payload, at_us)
            elif not self.control(opcode, payload):
                break
        del buf[:pos]


def handshake(host, port, path, headers=None):
    """The upgrade request: GET `path` with a fresh key and `headers` (Origin, Cookie, ...)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items() if value is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_head(head):
    """(status, headers) of an HTTP response head (without the blank line); headers match names
    case-insensitively, and get_all() gives every Set-Cookie."""
    status_line, _, rest = bytes(head).partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    return status, http.client.parse_headers(io.BytesIO(rest + b"\r\n\r\n"))


# ---------------------------------------------------------------- asyncio: callbacks

class WSClient(FrameParser, asyncio.Protocol):
    """The upgrade, then `on_frame(client, payload, at_us)` for each message, text or binary, and
    `on_close(client)` once. Pings are answered, a close frame echoed; `writable` is clear while
    the transport's buffer is full. `extra` is the caller's, e.g. the load generator's state."""

    def __init__(self, on_frame, on_close):
        super().__init__(on_frame)
        self.on_close = on_close
        self.head = bytearray()  # the upgrade answer, until it is complete
        self.transport = None
        loop = asyncio.get_running_loop()
        self.upgraded = loop.create_future()
        self.ready = loop.create_future()  # the caller's: set when the socket is usable (e.g. at hello)
        self.lost = loop.create_future()
        self.writable = asyncio.Event()
        self.writable.set()
        self.status = self.headers = None
        self.closed = False
        self.close_sent = False
        self.close_code = None  # the status code of the server's close frame, once one came
        self.extra = {}

    def connection_made(self, transport):
        self.transport = transport

    def pause_writing(self):
        self.writable.clear()

    def resume_writing(self):
        self.writable.set()

    def connection_lost(self, exc):
        if not self.closed:
            self.closed = True
            self.on_close(self)
        for fut in (self.upgraded, self.ready):
            if not fut.done():
                fut.set_exception(ConnectionError("connection lost"))
                fut.exception()  # retrieved: a socket closed after its member gave up is no error
        if not self.lost.done():
            self.lost.set_result(None)
        self.writable.set()

    def data_received(self, data):
        if not self.upgraded.done():
            head = self.head
            head += data
            end = head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status, self.headers = parse_head(head[:end])
            data = bytes(head[end + 4:])
            self.head = None
            if self.status != 101:
                self.upgraded.set_exception(HandshakeError(self.status))
                self.transport.close()
                return
            self.upgraded.set_result(True)
            if not data:
                return
        self.feed(data, now_us())

    def control(self, opcode, payload):
        if opcode == PING:
            self.send_frame(PONG, payload)
        elif opcode == CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if not self.close_sent:
                self.send_frame(CLOSE, payload[:2])  # the echo that ends the closing handshake
            self.closed = True
            self.on_close(self)
            self.transport.close()
            return False
        return True

    def send_frame(self, opcode, payload, fin=True, announce=None):
        if self.closed or self.transport.is_closing():
            return
        self.transport.write(encode_frame(opcode, payload, fin, announce))

    def send_text(self, text):
        if self.closed or self.transport.is_closing():
            return
        self.transport.write(encode_frame(TEXT, text.encode()))

    def send_raw(self, data):
        """Bytes as they are: a frame in pieces, or no frame at all."""
        if not self.transport.is_closing():
            self.transport.write(data)

    def send_close(self, code=1000):
        """Start the closing handshake; the connection ends when the server echoes it."""
        if not self.closed and not self.close_sent:
            self.send_frame(CLOSE, code.to_bytes(2, "big"))
            self.close_sent = True

    def close(self):
        """Close politely (status 1000) and drop the connection without waiting for the echo."""
        if not self.closed:
            self.send_frame(CLOSE, b"\x03\xe8")
            self.closed = True
            self.transport.close()


async def ws_connect(host, port, path, headers, on_frame, on_close, timeout=30, ssl=None, source=None):
    """A WSClient on `path`, upgraded; raises HandshakeError if the server answers other than 101.
    `source`: the local address to connect from."""
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(lambda: WSClient(on_frame, on_close), host, port, ssl=ssl,
                               local_addr=(source, 0) if source else None), timeout
    )
    client.transport.write(handshake(host, port, path, headers))
    try:
        await asyncio.wait_for(client.upgraded, timeout)
    except BaseException:
        client.transport.close()
        raise
    return client


# ---------------------------------------------------------------- asyncio: a queue to await

class Connection:
    """A WSClient whose messages wait in a queue: `await recv()` (None once closed) or `async for`.

    Text frames come out as str (binary ones that are not UTF-8 as bytes). `close_code` is None
    while the socket is open, then the server's close code, 1006 if the connection just ended."""

    def __init__(self):
        self.client = None
        self.queue = asyncio.Queue()

    def _on_frame(self, client, payload, at_us):
        try:
            self.queue.put_nowait(payload.decode())
        except UnicodeDecodeError:
            self.queue.put_nowait(payload)

    def _on_close(self, client):
        self.queue.put_nowait(None)

    @property
    def close_code(self):
        client = self.client
        if client is None or not (client.closed or client.lost.done()):
            return None
        return client.close_code or ABNORMAL

    async def recv(self):
        message = await self.queue.get()
        if message is None:
            self.queue.put_nowait(None)  # every later recv() sees the end too
        return message

    def __aiter__(self):
        return self

    async def __anext__(self):
        message = await self.recv()
        if message is None:
            raise StopAsyncIteration
        return message

    async def send(self, text):
        self.client.send_text(text)

    async def close(self, timeout=3):
        """The closing handshake: close 1000, wait up to `timeout` for the server's echo."""
        client = self.client
        client.send_close()
        try:
            await asyncio.wait_for(asyncio.shield(client.lost), timeout)
        except TimeoutError:
            pass
        finally:
            client.transport.close()


async def connect(url, *, origin=None, headers=None, timeout=10):
    """A Connection to a ws:// or wss:// URL (TLS unverified: loopback's certificate is self-signed)."""
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = Connection()
    conn.client = await ws_connect(parts.hostname, parts.port or (443 if secure else 80), path,
                                   {"Origin": origin, **(headers or {})}, conn._on_frame, conn._on_close,
                                   timeout=timeout, ssl=UNVERIFIED if secure else None)
    return conn


# ---------------------------------------------------------------- blocking

class Closed(Exception):
    def __init__(self, code):
        super().__init__(f"closed with {code}")
        self.code = code


class BlockingSocket(FrameParser):
    """The same frames on a blocking socket, for sync tests: `status` is the upgrade's answer (no
    exception when it is not 101), `receive()` the next message, `sock` the socket itself."""

    def __init__(self, port, path, *, host="127.0.0.1", origin=True, headers=None, rcvbuf=None, timeout=5):
        """`origin`: True for the server's own (http://host:port), a string for that one, None for none."""
        super().__init__(lambda _, payload, at: self.pending.append((TEXT, payload)),
                         lambda _, payload, at: self.pending.append((BINARY, payload)))
        self.pending = deque()
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        if origin is True:
            origin = f"http://{host}:{port}"
        self.sock.sendall(handshake(host, port, path, {"Origin": origin, **(headers or {})}))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(None)
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        self.status, self.headers = parse_head(head)
        self.feed(rest)

    def control(self, opcode, payload):
        self.pending.append((opcode, payload))
        return opcode != CLOSE

    def send_frame(self, opcode, payload=b"", *, fin=True, announce=None, pieces=1):
        """Send one frame; `announce` claims a payload length other than the real one.

        `pieces` > 1 sends the frame in that many TCP writes, a moment apart, so the server
        reads it in parts that split the payload at arbitrary bytes."""
        data = encode_frame(opcode, payload, fin, announce)
        if pieces <= 1:
            self.sock.sendall(data)
            return
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        step = -(-len(data) // pieces)
        for start in range(0, len(data), step):
            self.sock.sendall(data[start:start + step])
            time.sleep(0.02)

    def send_json(self, frame):
        self.send_frame(TEXT, json.dumps(frame).encode())

    def receive(self):
        """The next message as (opcode, bytes); pings are answered; raises Closed on a close frame or EOF."""
        while True:
            while not self.pending:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise Closed(None)
                self.feed(chunk)
            opcode, payload = self.pending.popleft()
            if opcode == CLOSE:
                raise Closed(int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None)
            if opcode == PING:
                self.send_frame(PONG, payload)
                continue
            return opcode, payload

    def receive_json(self):
        opcode, payload = self.receive()
        assert opcode == TEXT
        return json.loads(payload)

    def receive_type(self, kind):
        while True:
            frame = self.receive_json()
            if frame["type"] == kind:
                return frame

    def close_code(self):
        """Read until the server closes; its close code (None if it dropped the connection).

        Raises socket.timeout if the server keeps the connection open."""
        try:
            while True:
                self.receive()
        except Closed as closed:
            return closed.code
        except ConnectionResetError:
            return None

    def close(self):
        self.sock.close()
