"""Two browsers on two worker processes in one room see each other's changes, in order, once."""
import asyncio

import pytest

from tests.integration.conftest import manage_shell

pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.postgres]


async def _pair(live, browsers):
    """Alice on worker 0 creates a room, Bob joins it on worker 1; both sockets open."""
    one, two = live.workers
    alice, bob = browsers(one.url), browsers(two.url)
    code = alice.enter(name="Alice")
    bob.enter(name="Bob", action="join", code=code)
    a = await alice.open(code)
    b = await bob.open(code)
    await a.expect("join", member__name="Bob")
    return code, alice, bob, a, b


async def test_a_message_sent_on_one_worker_reaches_a_socket_on_the_other(live, browsers):
    code, alice, bob, a, b = await _pair(live, browsers)

    await a.send({"type": "message", "body": "hello from worker 0", "client_id": "a1"})

    seen_by_bob = await b.expect("message", client_id="a1")
    seen_by_alice = await a.expect("message", client_id="a1")
    assert seen_by_bob == seen_by_alice
    assert seen_by_bob["author"]["name"] == "Alice"


async def test_rename_typing_and_leave_cross_workers(live, browsers):
    code, alice, bob, a, b = await _pair(live, browsers)

    await b.send({"type": "typing"})
    assert (await a.expect("typing"))["member"]["name"] == "Bob"

    await b.send({"type": "rename", "name": "Robert"})
    renamed = await a.expect("rename")
    assert (renamed["old_name"], renamed["member"]["name"]) == ("Bob", "Robert")

    await b.close()
    left = await a.expect("leave", timeout=5)
    assert left["member"]["name"] == "Robert"


async def test_a_deletion_from_a_third_process_reaches_both_workers(live, browsers):
    code, alice, bob, a, b = await _pair(live, browsers)
    await a.send({"type": "message", "body": "regrettable", "client_id": "oops"})
    sent = await b.expect("message", client_id="oops")

    # The admin's delete runs in whichever process serves the admin page: here, a separate one.
    manage_shell(live, f"""
        from rooms import services
        from rooms.models import Message
        services.message_delete(message=Message.objects.get(pk={sent['id']}))
    """)

    for socket in (a, b):
        deleted = await socket.expect("delete", timeout=10, skip={"message", "join", "typing"})
        assert deleted["id"] == sent["id"] and deleted["seq"] > sent["seq"]


async def test_four_senders_on_two_workers_are_seen_in_seq_order_without_duplicates(live, browsers):
    one, two = live.workers
    host = browsers(one.url)
    code = host.enter(name="Host")
    senders = []
    for index in range(4):
        worker = live.workers[index % 2]
        browser = browsers(worker.url)
        browser.enter(name=f"Sender{index}", action="join", code=code)
        senders.append(await browser.open(code))
    watchers = []
    for worker in live.workers:
        browser = browsers(worker.url)
        browser.enter(name=f"Watcher{worker.index}", action="join", code=code)
        watchers.append(await browser.open(code))
    per_sender = 25

    async def burst(index, socket):
        for n in range(per_sender):
            await socket.send({"type": "message", "body": f"{index}-{n}", "client_id": f"s{index}-{n}"})
            await asyncio.sleep(0.005)

    await asyncio.gather(*(burst(i, s) for i, s in enumerate(senders)))

    expected = 4 * per_sender
    for watcher in watchers:
        while len(watcher.messages()) < expected:
            await watcher.expect("message", timeout=15)
        seqs = [m["seq"] for m in watcher.messages()]
        assert len(seqs) == len(set(seqs)), "duplicate deliveries"
        assert seqs == sorted(seqs), f"out of seq order: {seqs}"
        bodies = [m["body"] for m in watcher.messages()]
        for index in range(4):
            mine = [b for b in bodies if b.startswith(f"{index}-")]
            assert mine == [f"{index}-{n}" for n in range(per_sender)]
    assert watchers[0].messages() == watchers[1].messages()
