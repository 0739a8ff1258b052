"""A small world for the tests: rooms and identities made through the services, and a factory
that opens sockets on the real ASGI application with an Origin and a session cookie."""
import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from rooms import identities, services
from rooms.live import writer
from tests.frames import assert_valid_frame

ORIGIN = (b"origin", b"http://localhost")
HOST = (b"host", b"localhost")  # a browser always sends it; the Origin check compares with it


@pytest.fixture(autouse=True)
def _chat_settings(settings):
    settings.CHAT_LEAVE_GRACE = 0.05
    settings.CHAT_TICK_SECONDS = 60  # tests that need ticks ask for them
    settings.CHAT_RATE_LIMIT = "20/10"
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    settings.CHAT_WEBHOOK_WORKER = "off"  # tests of webhooks run their own delivery loop


@pytest.fixture(autouse=True)
def _fresh_guards():
    """Per-address counts (sockets, room-code misses, answer bytes) and the handshake counts start from zero in every test."""
    from rooms import httplimits
    from rooms.live import arrivals, guards, replies

    guards.reset()
    replies.reset()
    arrivals.reset()
    httplimits.reset()
    yield
    guards.reset()
    replies.reset()
    arrivals.reset()
    httplimits.reset()


@pytest.fixture(autouse=True)
def _fresh_in_memory_layer():
    """Each test gets empty channel-layer groups (the in-memory layer is a process singleton)."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def room(db):
    return services.room_create()


@pytest.fixture
def alice(db):
    return services.identity_create(name="Alice")


@pytest.fixture
def bob(db):
    return services.identity_create(name="Bob")


def send_message(*, room, author, body, client_id=None):
    """Send a message from synchronous test code the one way production does
    (rooms.live.writer.message_send). Returns (message frame, created)."""
    return async_to_sync(writer.message_send)(room=room, author=author, body=body, client_id=client_id)


def identity_cookie_for(identity):
    """The cookie a browser of this identity sends (rooms/identities.py)."""
    return f"{settings.CHAT_IDENTITY_COOKIE}={identities.cookie_value(identity)}".encode()


def session_cookie_for(identity):
    """A session cookie of the time before the identity cookie, naming this identity."""
    store = SessionStore()
    store[identities.SESSION_KEY] = identity.public_id
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


def identity_of(client):
    """The identity a Django test client's identity cookie names (None without one)."""
    cookie = client.cookies.get(settings.CHAT_IDENTITY_COOKIE)
    return identities.from_cookie(cookie.value if cookie else None)


class Client:
    """A socket in a room, with helpers that check each frame against docs/protocol.md."""

    def __init__(self, communicator):
        self.communicator = communicator
        self.hello = None
        self.closed = False

    async def send(self, frame):
        await self.communicator.send_json_to(frame)

    async def send_text(self, text):
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout=2):
        frame = await self.communicator.receive_json_from(timeout=timeout)
        assert_valid_frame(frame)
        return frame

    async def receive_type(self, kind, timeout=2):
        """The next frame of `kind`, skipping presence and typing noise of other kinds."""
        while True:
            frame = await self.receive(timeout)
            if frame["type"] == kind:
                return frame
            assert frame["type"] in {"join", "leave", "typing", "rename", "tick"}, frame

    async def receive_nothing(self, timeout=0.2):
        return await self.communicator.receive_nothing(timeout=timeout)

    async def close(self):
        if not self.closed:
            self.closed = True
            await self.communicator.disconnect(timeout=3)


@pytest.fixture
async def connect(transactional_db):
    """connect(room_code, identity=None, query="", origin=ORIGIN) -> Client after its hello."""
    from chatsite.asgi import application

    opened = []

    async def _connect(code, identity=None, query="", origin=ORIGIN, expect_hello=True, own_join=None):
        headers = [HOST, origin] if origin else [HOST]
        if identity is not None:
            cookie = await _cookie(identity)
            headers.append((b"cookie", cookie))
        path = f"/ws/rooms/{code}/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, close_code = await communicator.connect(timeout=3)
        client = Client(communicator)
        client.connected, client.close_code = connected, close_code
        first_socket = identity is None or not any(c.key == (code, identity) and not c.closed for c in opened)
        if own_join is not None:
            first_socket = own_join
        client.key = (code, identity)
        opened.append(client)
        if connected and expect_hello:
            client.hello = await client.receive()
            assert client.hello["type"] == "hello"
            if first_socket:
                # The first socket of an identity hears its own join, like everyone else in the room.
                own_join = await client.receive()
                assert own_join == {"type": "join", "member": client.hello["you"]}
        return client

    yield _connect
    for client in opened:
        try:
            await client.close()
        except (Exception, asyncio.CancelledError):
            pass  # a test that timed out has cancelled its communicator already


async def _cookie(identity):

    return identity_cookie_for(identity)
