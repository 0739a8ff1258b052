"""Two browsers on two worker processes in one room see each other's changes, in order, once."""
import asyncio

import pytest

from tests.integration.client import RoomView, pair_across_workers
from tests.integration.conftest import manage_shell

pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.postgres]


async def test_a_message_sent_on_one_worker_reaches_a_socket_on_the_other(live, browsers):
    code, alice, bob, a, b = await pair_across_workers(live, browsers)

    await a.send({"type": "message", "body": "hello from worker 0", "client_id": "a1"})

    seen_by_bob = await b.expect("message", client_id="a1")
    seen_by_alice = await a.expect("message", client_id="a1")
    assert seen_by_bob == seen_by_alice
    assert seen_by_bob["author"]["name"] == "Alice"


async def test_rename_typing_and_leave_cross_workers(live, browsers):
    code, alice, bob, a, b = await pair_across_workers(live, browsers)

    await b.send({"type": "typing"})
    assert (await a.expect("typing"))["member"]["name"] == "Bob"

    await b.send({"type": "rename", "name": "Robert"})
    renamed = await a.expect("rename")
    assert (renamed["old_name"], renamed["member"]["name"]) == ("Bob", "Robert")

    await b.close()
    left = await a.expect("leave", timeout=5)
    assert left["member"]["name"] == "Robert"


async def test_a_deletion_from_a_third_process_reaches_both_workers(live, browsers):
    code, alice, bob, a, b = await pair_across_workers(live, browsers)
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


async def test_four_senders_on_two_workers_show_every_message_once_in_seq_order(live, browsers):
    code, senders, watchers = await _crowd(live, browsers, senders=4)
    per_sender = 25

    await asyncio.gather(*(_burst(s, i, per_sender) for i, s in enumerate(senders)))

    expected = 4 * per_sender
    views = [RoomView(w) for w in watchers]
    for view in views:
        await view.follow(until=lambda v: len(v.messages()) >= expected)
        seqs = [m["seq"] for m in view.messages()]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) == expected
        bodies = [m["body"] for m in view.messages()]
        for index in range(4):
            assert [b for b in bodies if b.startswith(f"{index}-")] == [f"{index}-{n}" for n in range(per_sender)]
    assert [m["id"] for m in views[0].messages()] == [m["id"] for m in views[1].messages()]


async def test_every_socket_receives_the_rooms_changes_in_seq_order_without_gaps(live, browsers):
    """docs/protocol.md's promise, on the raw socket (no reordering by the client): with senders
    on both workers interleaving their batches, each socket gets seq h+1, h+2, ... in order,
    where h is its hello's seq, and nothing twice."""
    code, senders, watchers = await _crowd(live, browsers, senders=6)
    per_sender = 40

    await asyncio.gather(*(_burst(s, i, per_sender, pause=0) for i, s in enumerate(senders)))

    expected = 6 * per_sender
    for socket in [*watchers, *senders]:
        while len(socket.messages()) < expected:
            await socket.expect("message", timeout=15, skip={"join", "leave", "typing", "rename"})
        start = socket.hello["room"]["seq"]
        assert [m["seq"] for m in socket.messages()] == list(range(start + 1, start + expected + 1))


async def _crowd(live, browsers, senders):
    """A room with `senders` sending sockets and one watcher per worker, spread over both workers."""
    host = browsers(live.workers[0].url)
    code = await host.enter(name="Host")
    sending = []
    for index in range(senders):
        browser = browsers(live.workers[index % 2].url)
        await browser.enter(name=f"Sender{index}", action="join", code=code)
        sending.append(await browser.open(code))
    watchers = []
    for worker in live.workers:
        browser = browsers(worker.url)
        await browser.enter(name=f"Watcher{worker.index}", action="join", code=code)
        watchers.append(await browser.open(code))
    return code, sending, watchers


async def _burst(socket, index, count, pause=0.005):
    for n in range(count):
        await socket.send({"type": "message", "body": f"{index}-{n}", "client_id": f"s{index}-{n}"})
        await asyncio.sleep(pause)


async def test_senders_in_several_rooms_on_both_workers_are_never_refused(live, browsers):
    """Each worker stores the messages that arrive together in one transaction (group commit),
    across rooms; two workers must not lock the same rooms in opposite orders (a deadlock that
    PostgreSQL breaks by failing one batch: its senders get `unavailable`)."""
    rooms, per_sender = 4, 30
    sockets = []
    for r in range(rooms):
        host = browsers(live.workers[0].url)
        code = await host.enter(name=f"Host{r}")
        for worker in live.workers:
            browser = browsers(worker.url)
            await browser.enter(name=f"S{r}w{worker.index}", action="join", code=code)
            sockets.append(await browser.open(code))

    await asyncio.gather(*(_burst(s, i, per_sender) for i, s in enumerate(sockets)))

    for index, socket in enumerate(sockets):
        mine = {f"s{index}-{n}" for n in range(per_sender)}
        while not mine <= {m["client_id"] for m in socket.messages()}:
            refused = [f for f in socket.frames if f["type"] == "error"]
            assert not refused, f"{len(refused)} messages refused, e.g. {refused[0]}"
            await socket.expect("message", timeout=15, skip={"join", "leave", "typing", "rename", "error"})
