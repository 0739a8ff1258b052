"""Answer bytes per address (CHAT_REPLY_BUDGET): hello pages, sync and history share a bucket per
address; past it answers wait their turn or are refused, live frames keep flowing, and a client
catching up from 0 still gets everything."""
import asyncio
import time

import pytest

from rooms.errors import ChatError
from rooms.live.replies import ReplyBudget

pytestmark = pytest.mark.django_db(transaction=True)


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def clock(self):
        return self.now

    async def sleep(self, seconds):
        self.slept.append(round(seconds, 3))
        self.now += seconds


async def test_answers_within_the_budget_go_at_once_and_the_next_waits_for_the_refill():
    t = FakeTime()
    budget = ReplyBudget((1000, 10), wait_max=60, clock=t.clock, sleep=t.sleep)
    await budget.spend("a", 600)
    await budget.spend("a", 400)
    assert t.slept == []
    await budget.spend("a", 500)  # 500 bytes refill in 5 s
    assert t.slept == [5.0]


async def test_a_sync_that_would_wait_too_long_is_refused_and_costs_nothing():
    t = FakeTime()
    budget = ReplyBudget((1000, 10), wait_max=2, clock=t.clock, sleep=t.sleep)
    await budget.spend("a", 1000)
    with pytest.raises(ChatError) as refused:
        await budget.spend("a", 500)
    assert refused.value.code == "rate_limited" and "5 s" in refused.value.detail
    t.now += 5
    await budget.spend("a", 500)  # the refusal took nothing from the bucket
    assert t.slept == []


async def test_a_hello_waits_its_turn_instead_of_being_refused():
    t = FakeTime()
    budget = ReplyBudget((1000, 10), wait_max=1, clock=t.clock, sleep=t.sleep)
    await budget.spend("a", 1000)
    await budget.spend("a", 800, may_refuse=False)
    assert t.slept == [8.0]


async def test_an_answer_larger_than_the_whole_budget_goes_once_the_bucket_is_full():
    t = FakeTime()
    budget = ReplyBudget((1000, 10), wait_max=60, clock=t.clock, sleep=t.sleep)
    await budget.spend("a", 5000)
    assert t.slept == []
    await budget.spend("a", 100)  # the debt is paid off first
    assert t.slept == [41.0]


async def test_addresses_have_buckets_of_their_own():
    t = FakeTime()
    budget = ReplyBudget((1000, 10), wait_max=60, clock=t.clock, sleep=t.sleep)
    await budget.spend("a", 1000)
    await budget.spend("b", 1000)
    assert t.slept == []


async def test_waiting_answers_of_one_address_go_out_in_the_order_asked():
    budget = ReplyBudget((1000, 0.2), wait_max=60)
    done = []

    async def ask(n):
        await budget.spend("a", 600)
        done.append(n)

    await asyncio.gather(*(ask(n) for n in range(5)))
    assert done == [0, 1, 2, 3, 4]


# ---- on sockets ----

async def long_room(room, author, count, length=2000):
    """A room's history of `count` long messages, stored in batches as the writer stores them."""
    from channels.db import database_sync_to_async as db

    from rooms import services

    for start in range(0, count, 200):
        requests = [services.MessageRequest(room, author, f"{n:05d} " + "x" * length, f"long-{n}")
                    for n in range(start, min(count, start + 200))]
        await db(services.messages_store)(requests=requests)


async def read_answer(client, kind, timeout=10):
    while True:
        frame = await client.receive(timeout=timeout)
        if frame["type"] in (kind, "error"):
            return frame


async def test_one_address_asking_again_and_again_is_slowed_and_told_while_others_are_not(
    open_socket, room, alice, bob, settings
):
    settings.CHAT_REPLY_BUDGET = "400000/2"  # 400 kB per 2 s
    settings.CHAT_REPLY_WAIT_MAX_SECONDS = 0.5
    await long_room(room, alice, 100)  # a sync after 0 is about 215 kB
    greedy = [await open_socket(room.code, alice, address="10.0.0.5") for _ in range(3)]
    for client in greedy:
        await read_answer(client, "hello")
    answers = []
    for _ in range(4):
        for client in greedy:
            await client.send({"type": "sync", "after": 0})
            answers.append(await read_answer(client, "sync"))
    refused = [a for a in answers if a["type"] == "error"]
    assert refused and all(a["code"] == "rate_limited" for a in refused)
    other = await open_socket(room.code, bob, address="10.0.0.6")
    await read_answer(other, "hello")
    started = time.monotonic()
    await other.send({"type": "sync", "after": 0})
    assert (await read_answer(other, "sync"))["type"] == "sync" and time.monotonic() - started < 1


async def test_live_frames_reach_an_address_whose_answers_are_spent(open_socket, room, alice, bob, settings):
    settings.CHAT_REPLY_BUDGET = "100000/10"
    settings.CHAT_REPLY_WAIT_MAX_SECONDS = 0.1
    await long_room(room, alice, 60)
    greedy = await open_socket(room.code, alice, address="10.0.0.5")
    await read_answer(greedy, "hello")
    await greedy.send({"type": "sync", "after": 0})
    assert (await read_answer(greedy, "sync"))["type"] in ("sync", "error")
    await greedy.send({"type": "sync", "after": 0})
    assert (await read_answer(greedy, "sync"))["code"] == "rate_limited"
    sender = await open_socket(room.code, bob, address="10.0.0.6")
    await read_answer(sender, "hello")
    await sender.send({"type": "message", "body": "live", "client_id": "live-1"})
    assert (await greedy.receive_type("message"))["client_id"] == "live-1"


async def test_a_client_catching_up_from_0_gets_every_message_though_it_waits(open_socket, room, alice, settings):
    settings.CHAT_REPLY_BUDGET = "400000/1"  # far less than the room: the pages must wait their turn
    await long_room(room, alice, 1500, length=400)  # 1,500 messages, as the issue has it: 3 pages of 500
    client = await open_socket(room.code, alice, address="10.0.0.5", path=f"/ws/rooms/{room.code}/?after=0")
    hello = await read_answer(client, "hello")
    seen = [m["seq"] for m in hello["messages"]]
    seq, more = hello["room"]["seq"], hello["has_more"]
    while more:
        await client.send({"type": "sync", "after": seq})
        answer = await read_answer(client, "sync", timeout=15)
        if answer["type"] == "error":  # told to wait: ask again a little later, as the page does
            await asyncio.sleep(0.5)
            continue
        seen += [m["seq"] for m in answer["messages"]]
        seq, more = answer["seq"], answer["has_more"]
    assert seen == list(range(1, 1501))
