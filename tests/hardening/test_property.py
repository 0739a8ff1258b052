"""Property: whatever a client sends, the socket answers with frames of the protocol (checked by
tests/frames.py) or closes cleanly; the consumer never raises."""
import json
import uuid

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rooms import services
from tests.conftest import HOST, ORIGIN, identity_cookie_for
from tests.frames import assert_valid_frame

pytestmark = pytest.mark.django_db(transaction=True)

CLEAN_CLOSES = {1000, 1009, 4429}
TYPES = ["message", "rename", "typing", "history", "sync"]
NASTY_TEXT = st.sampled_from(
    ["", " ", "\x00", "\x07", "\x1b[2J", "\u202e", "\u200b", "\ud800", "\udfff", "\ufeff", "<script>", "𝕏" * 40, "a" * 2001]
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=False), st.text(max_size=40), NASTY_TEXT,
)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
FIELD = st.one_of(NASTY_TEXT, SCALARS, JSON)
FRAME = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(TYPES), st.sampled_from(TYPES), FIELD)},
    optional={name: FIELD for name in ("body", "client_id", "name", "before", "after", "limit", "author", "id")},
)
WIRE = st.one_of(
    FRAME.map(lambda frame: ("text", json.dumps(frame))),
    JSON.map(lambda value: ("text", json.dumps(value))),
    st.text(min_size=1, max_size=80).map(lambda text: ("text", text)),
    st.binary(min_size=1, max_size=40).map(lambda data: ("bytes", data)),
)


@pytest.fixture
def world(transactional_db, settings):
    settings.CHAT_RATE_LIMIT = "off"
    settings.CHAT_TYPING_RATE_LIMIT = "off"
    room = services.room_create()
    return room, identity_cookie_for(services.identity_create(name="Fuzz"))


async def exchange(room, cookie, wire):
    """Send the frames and a sentinel; return when the sentinel's answer or a clean close comes."""
    from chatsite.asgi import application

    communicator = WebsocketCommunicator(application, f"/ws/rooms/{room.code}/", headers=[HOST, ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    sentinel = f"end-{uuid.uuid4().hex[:12]}"
    for kind, payload in wire:
        await communicator.send_input({"type": "websocket.receive", kind: payload})
    await communicator.send_input({"type": "websocket.receive", "text": json.dumps({"type": sentinel})})
    try:
        while True:
            message = await communicator.receive_output(timeout=5)
            if message["type"] == "websocket.close":
                assert message.get("code", 1000) in CLEAN_CLOSES, message
                return
            frame = json.loads(message["text"])
            assert_valid_frame(frame)
            if frame["type"] == "error" and sentinel in frame["detail"]:
                return
    finally:
        await communicator.disconnect(timeout=5)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(wire=st.lists(WIRE, min_size=1, max_size=8))
async def test_any_frames_get_protocol_frames_or_a_clean_close(world, wire):
    room, cookie = world
    await exchange(room, cookie, wire)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frames=st.lists(FRAME, min_size=1, max_size=8))
@example(frames=[{"type": "message", "body": "\ud800"}])
@example(frames=[{"type": "message", "body": "nul\x00", "client_id": "\udfff"}])
@example(frames=[{"type": "rename", "name": "\ud800"}, {"type": "history", "before": 2**70, "limit": 1}])
async def test_well_typed_frames_with_any_fields_get_protocol_frames(world, frames):
    room, cookie = world
    await exchange(room, cookie, [("text", json.dumps(frame)) for frame in frames])
