"""The lean in-memory channel layer keeps channels' contract without walking every connection."""
import asyncio
import time

import pytest

from chatsite.layers import InMemoryChannelLayer


@pytest.fixture
def layer():
    return InMemoryChannelLayer(expiry=60, capacity=3)


async def test_a_group_send_reaches_every_member_once(layer):
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room.ABCD", a)
    await layer.group_add("room.ABCD", b)
    await layer.group_send("room.ABCD", {"type": "room.event", "texts": ["hi"]})
    assert await layer.receive(a) == {"type": "room.event", "texts": ["hi"]}
    assert await layer.receive(b) == {"type": "room.event", "texts": ["hi"]}
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(a), 0.05)


async def test_a_discarded_channel_hears_nothing_more(layer):
    a = await layer.new_channel()
    await layer.group_add("room.ABCD", a)
    await layer.group_discard("room.ABCD", a)
    await layer.group_send("room.ABCD", {"type": "room.event", "texts": ["hi"]})
    assert layer.channels == {} and layer.groups == {}


async def test_a_waiting_receiver_wakes_when_a_message_arrives(layer):
    a = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(a))
    await asyncio.sleep(0.01)
    await layer.send(a, {"type": "x"})
    assert await asyncio.wait_for(waiting, 1) == {"type": "x"}


async def test_a_full_queue_is_counted_not_silently_lost_and_send_raises(layer):
    from channels.exceptions import ChannelFull

    a = await layer.new_channel()
    await layer.group_add("room.ABCD", a)
    for n in range(4):
        await layer.group_send("room.ABCD", {"type": "room.event", "texts": [str(n)]})
    assert layer.dropped == 1
    with pytest.raises(ChannelFull):
        await layer.send(a, {"type": "x"})


async def test_an_expired_message_is_not_delivered(layer):
    a = await layer.new_channel()
    layer.expiry = -1
    await layer.send(a, {"type": "stale"})
    layer.expiry = 60
    await layer.send(a, {"type": "fresh"})
    assert await layer.receive(a) == {"type": "fresh"}


async def test_queues_nobody_reads_are_swept(layer):
    gone = await layer.new_channel()
    layer.expiry = -1
    await layer.send(gone, {"type": "never read"})
    layer._next_sweep = time.monotonic() - 1
    await layer.group_send("room.ABCD", {"type": "room.event", "texts": []})
    assert gone not in layer.channels
