"""The Redis channel layer for real: what only shows with channels-redis and redis-py."""
import asyncio

import pytest
from django.conf import settings

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: scripts/test runs this in its Redis pass"),
]


async def test_an_idle_socket_outlives_redis_py_s_default_read_timeout(connect, room, alice, bob):
    # redis-py 8 defaults socket_timeout to 5 s while channels-redis' core layer blocks reads for
    # 5 s: without an explicit longer timeout every idle consumer dies after about 5 s.
    # scripts/test runs this file on both layers (CHANNEL_LAYER=pubsub and core).
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    await a.receive_type("join")
    await asyncio.sleep(7)
    await b.send({"type": "message", "body": "still there?"})
    assert (await a.receive_type("message", timeout=5))["body"] == "still there?"
