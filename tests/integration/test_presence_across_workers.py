"""Presence lives in PostgreSQL, so every worker tells the same story, and a killed worker's
members leave within the documented time."""
import asyncio
import time

import pytest

from tests.integration.client import pair_across_workers
from tests.integration.conftest import LEAVE_DEADLINE, PRESENCE_TIMEOUT, manage_shell, redis_keys

pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.postgres]


def _names(hello):
    return sorted(member["name"] for member in hello["members"])


async def test_hello_lists_the_same_members_whichever_worker_serves_it(live, browsers):
    one, two = live.workers
    alice, bob, carol = browsers(one.url), browsers(two.url), browsers(one.url)
    code = await alice.enter(name="Alice")
    await bob.enter(name="Bob", action="join", code=code)
    await carol.enter(name="Carol", action="join", code=code)
    await alice.open(code)
    await bob.open(code, base_url=two.url)

    on_one = await carol.open(code, base_url=one.url)
    on_two = await carol.open(code, base_url=two.url)

    assert _names(on_one.hello) == _names(on_two.hello) == ["Alice", "Bob", "Carol"]


async def test_two_tabs_on_two_workers_are_one_presence(live, browsers):
    one, two = live.workers
    alice, bob = browsers(one.url), browsers(two.url)
    code = await alice.enter(name="Alice")
    await bob.enter(name="Bob", action="join", code=code)
    watcher = await alice.open(code)

    first_tab = await bob.open(code, base_url=one.url)
    await watcher.expect("join", member__name="Bob")
    second_tab = await bob.open(code, base_url=two.url)
    assert await watcher.nothing({"join"}, timeout=1.5)

    await first_tab.close()
    assert await watcher.nothing({"leave"}, timeout=2)

    await second_tab.close()
    await watcher.expect("leave", member__name="Bob", timeout=5)


async def test_a_killed_workers_members_leave_within_the_presence_timeout(live, browsers):
    code, alice, _, watcher, bob_socket = await pair_across_workers(live, browsers)
    doomed = live.workers[1]  # Bob's
    keys_before = len(redis_keys_of(live))

    doomed.kill()  # kill -9: no disconnect handler runs on that worker
    killed_at = time.monotonic()

    left = await watcher.expect("leave", timeout=LEAVE_DEADLINE, member__name="Bob")
    waited = time.monotonic() - killed_at
    # Not before the timeout minus the last heartbeat's age: the leave came from the sweep.
    assert left and waited >= PRESENCE_TIMEOUT / 2, f"Bob left after {waited:.1f} s, before the timeout"
    await bob_socket.close()
    second_tab = await alice.open(code)
    assert _names(second_tab.hello) == ["Alice"]
    rows = manage_shell(live, f"""
        from rooms.models import Presence
        print(Presence.objects.filter(room__code="{code}").count())
    """)
    assert rows == "2"  # Alice's two tabs; nothing of the dead worker
    assert len(redis_keys_of(live)) <= keys_before + 2


async def test_nothing_keeps_growing_after_sockets_come_and_go(live, browsers):
    one, two = live.workers
    host = browsers(one.url)
    code = await host.enter(name="Host")
    await host.open(code)

    async def churn(rounds):
        for n in range(rounds):
            browser = browsers(live.workers[n % 2].url)
            await browser.enter(name=f"Visitor{n}", action="join", code=code)
            socket = await browser.open(code)
            await socket.send({"type": "message", "body": f"visit {n}"})
            await socket.expect("message")
            await socket.close()

    await churn(6)
    await _room_presence_settles_at(live, code, 1)  # the host's socket only, once the leaves are through
    keys_after_first = set(redis_keys_of(live))
    await churn(6)
    await _room_presence_settles_at(live, code, 1)
    assert len(set(redis_keys_of(live))) <= len(keys_after_first) + 1, set(redis_keys_of(live)) - keys_after_first


async def _room_presence_settles_at(topology, code, rows, deadline=60):
    """Wait until the room has `rows` presence rows (leave grace and sweeps take their time on a
    busy machine); fail with the count it stayed at."""
    started = time.monotonic()
    while (count := _presence_count(topology, code)) != rows:
        assert time.monotonic() - started < deadline, f"the room kept {count} presence rows, not {rows}"
        await asyncio.sleep(0.3)


def redis_keys_of(topology):
    return redis_keys(topology.redis_server)


def _presence_count(topology, code):
    return int(manage_shell(topology, f"""
        from rooms.models import Presence
        print(Presence.objects.filter(room__code="{code}").count())
    """))
