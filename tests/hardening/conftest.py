"""Helpers for the hardening tests: sockets from a chosen client address, fresh guard counts,
and a real daphne (python -m chatsite.serve) on a loopback port for the limits only it enforces."""
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator

from bench import ports
from tests.conftest import HOST, ORIGIN, Client, identity_cookie_for

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: mixed traffic for SOAK_SECONDS (short by default)")


@pytest.fixture(autouse=True)
def _forget_dead_sockets():
    """A test that fails by timing out leaves consumers that never ran disconnect() registered
    with the ticker of a closed event loop; forget them so the next test starts clean."""
    yield
    from rooms.live import ticker

    ticker._sockets.clear()
    ticker._task = None


@pytest.fixture
async def open_socket(transactional_db):
    """open_socket(code, identity=None, address="10.0.0.1", origin=ORIGIN, headers=(HOST,)) -> Client.

    Unlike `connect`, reads nothing after the handshake: the test decides what it expects.
    """
    from chatsite.asgi import application

    opened = []

    async def _open(code, identity=None, address="10.0.0.1", origin=ORIGIN, path=None, headers=(HOST,), scheme=None):
        headers = [*headers, origin] if origin else list(headers)
        if identity is not None:
            headers.append((b"cookie", identity_cookie_for(identity)))
        communicator = WebsocketCommunicator(application, path or f"/ws/rooms/{code}/", headers=headers)
        if address:
            communicator.scope["client"] = (address, 40000 + len(opened))
        if scheme:
            communicator.scope["scheme"] = scheme
        client = Client(communicator)
        client.connected, client.close_code = await communicator.connect(timeout=3)
        opened.append(client)
        return client

    yield _open
    for client in opened:
        try:
            await client.close()
        except (Exception, asyncio.CancelledError):
            pass  # a test that timed out has cancelled its communicator already


@pytest.fixture
async def connect(open_socket):
    """Like the suite's `connect` (sockets without a client address, hello read), but a test
    that fails by timing out does not break the teardown of the tests after it."""

    async def _connect(code, identity=None, origin=ORIGIN, expect_hello=True):
        client = await open_socket(code, identity, address=None, origin=origin)
        if client.connected and expect_hello:
            client.hello = await client.receive()
            assert client.hello["type"] == "hello"
        return client

    return _connect


async def read_until_close(client, timeout=3):
    """Every frame up to the close (each checked against the protocol), and the close code."""
    frames = []
    while True:
        message = await client.communicator.receive_output(timeout)
        if message["type"] == "websocket.close":
            client.closed = True
            return frames, message.get("code", 1000)
        frames.append(_checked(message))


def _checked(message):
    import json

    from tests.frames import assert_valid_frame

    assert message["type"] == "websocket.send", message
    frame = json.loads(message["text"])
    assert_valid_frame(frame)
    return frame


# Every server the README and docs/deploy.md name: every limit in docs/protocol.md must hold on each.
SERVER_COMMANDS = {
    "chatsite.serve": lambda port: ["-m", "chatsite.serve", "-b", "127.0.0.1", "-p", str(port)],
    "chatsite.serve_uvicorn": lambda port: ["-m", "chatsite.serve_uvicorn", "--host", "127.0.0.1", "--port", str(port)],
    "runserver": lambda port: ["manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
}


class Daphne:
    """python -m chatsite.serve (or another of SERVER_COMMANDS) on a loopback port, with its own SQLite database."""

    def __init__(self, tmp, server="chatsite.serve", **env):
        self.command = SERVER_COMMANDS[server]
        self.port = ports.free_port(ports.HARDENING)
        self.log_path = tmp / "daphne.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CHAT_", "PYTEST", "DATABASE_URL", "REDIS_URL"))},
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "CHATSITE_VAR_DIR": str(tmp),
            "PYTHONUNBUFFERED": "1",
            "DEBUG": "1",
            "CHAT_DRAIN_SECONDS": "0.5",  # stop() is a SIGTERM: drain quickly
            **env,
        }

    def start(self):
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, *self.command(self.port)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        # Wait for it to listen (or to exit); the deadline only guards against a hang, and a busy
        # machine may take a while to import Django and Twisted.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not listen on {self.port}:\n{self.log_text()}")

    def new_room(self):
        """A fresh room's code, made through the services in the server's database."""
        code = "from rooms import services; print(services.room_create().code)"
        result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=self.env,
                                check=True, capture_output=True, text=True)
        return result.stdout.strip().splitlines()[-1]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def rss_bytes(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


LIMITS_UNDER_TEST = dict(
    CHAT_RATE_LIMIT="off",
    CHAT_FLOOD_LIMIT="off",
    CHAT_WS_PER_ADDRESS="0",
    CHAT_MESSAGE_MAX_LENGTH="30000",
    CHAT_SEND_BUFFER_BYTES=str(256 * 1024),
    CHAT_LEAVE_GRACE="0.1",
)


@pytest.fixture(scope="module", params=sorted(SERVER_COMMANDS))
def any_server(request, tmp_path_factory):
    """Each server command in turn: the socket limits must hold on all of them."""
    server = Daphne(tmp_path_factory.mktemp("server"), server=request.param, **LIMITS_UNDER_TEST).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = Daphne(tmp_path_factory.mktemp("daphne"), **LIMITS_UNDER_TEST).start()
    yield server
    server.stop()
