"""A WebSocket client on a bare socket, so a test can send what no well-behaved library would:
a frame header announcing more than follows, invalid UTF-8, a message in fragments."""
import base64
import json
import os
import socket
import struct
import time

TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


class Closed(Exception):
    def __init__(self, code):
        super().__init__(f"closed with {code}")
        self.code = code


class RawSocket:
    def __init__(self, port, path, *, origin=True, rcvbuf=None, timeout=5):
        """`origin`: True for the server's own (http://127.0.0.1:port), a string for that one, None for none."""
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
        ]
        if origin is True:
            origin = f"http://127.0.0.1:{port}"
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        self.head = self._read_until(b"\r\n\r\n")
        self.status = int(self.head.split(b" ", 2)[1])

    def _read_until(self, marker):
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(None)
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(None)
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send_frame(self, opcode, payload=b"", *, fin=True, announce=None, pieces=1):
        """Send one masked frame; `announce` claims a payload length other than the real one.

        `pieces` > 1 sends the frame in that many TCP writes, a moment apart, so the server
        reads it in parts that split the payload at arbitrary bytes."""
        length = len(payload) if announce is None else announce
        head = bytes([(0x80 if fin else 0) | opcode])
        if length < 126:
            head += bytes([0x80 | length])
        elif length < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if len(payload) < 4096 else _mask(payload, mask)
        data = head + mask + masked
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
        """The next data frame's payload as (opcode, bytes); raises Closed on a close frame or EOF."""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == CLOSE:
                raise Closed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
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


def _mask(payload, mask):
    number = int.from_bytes(payload, "big")
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (number ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")
