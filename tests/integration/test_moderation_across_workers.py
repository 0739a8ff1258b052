"""Moderation holds on every worker at once (issue 15): a ban, a mute and slow mode decided on
one worker are enforced on the other, because the state is in the database and read when
someone acts; the banned person's socket on the other worker is closed."""
import pytest

from tests.integration.client import pair_across_workers

pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.postgres]

SKIP = {"join", "leave", "typing", "rename", "message", "member", "room"}


async def _closed(socket):
    while await socket.next(timeout=10) is not None:
        pass
    return socket.close_code


async def test_a_ban_on_one_worker_closes_and_refuses_the_member_on_the_other(live, browsers):
    code, alice, bob, a, b = await pair_across_workers(live, browsers)  # Alice owns the room: worker 0
    await a.send({"type": "ban", "member": b.hello["you"]["id"], "seconds": 3600, "reason": "spam"})
    refused = await b.expect("error", timeout=10, skip=SKIP)
    assert refused["code"] == "banned" and refused["reason"] == "spam"
    assert await _closed(b) == 4403
    again = await bob.open(code, expect_hello=False)  # on worker 1 again
    assert (await again.expect("error", timeout=10, skip=SKIP))["code"] == "banned"
    assert await _closed(again) == 4403
    elsewhere = await bob.open(code, base_url=live.workers[0].url, expect_hello=False)
    assert (await elsewhere.expect("error", timeout=10, skip=SKIP))["code"] == "banned"


async def test_slow_mode_and_a_mute_set_on_one_worker_hold_on_the_other(live, browsers):
    code, alice, bob, a, b = await pair_across_workers(live, browsers)
    await a.send({"type": "room", "slowmode": 60})
    assert (await b.expect("room", timeout=10, skip=SKIP))["slowmode"] == 60
    await b.send({"type": "message", "body": "one", "client_id": "b1"})
    await b.expect("message", timeout=10, client_id="b1")
    await b.send({"type": "message", "body": "two", "client_id": "b2"})
    refused = await b.expect("error", timeout=10, skip=SKIP)
    assert refused["code"] == "slow_mode" and refused["client_id"] == "b2" and refused["retry_after_ms"] > 50_000
    # Bob's second tab, on the other worker, is held to the same pace.
    other_tab = await bob.open(code, base_url=live.workers[0].url)
    await other_tab.send({"type": "message", "body": "three", "client_id": "b3"})
    assert (await other_tab.expect("error", timeout=10, skip=SKIP))["code"] == "slow_mode"
    # The owner is exempt; turning it off frees Bob on both workers.
    await a.send({"type": "message", "body": "owner 1", "client_id": "a1"})
    await a.send({"type": "message", "body": "owner 2", "client_id": "a2"})
    await a.expect("message", timeout=10, client_id="a2", skip=SKIP)
    await a.send({"type": "room", "slowmode": 0})
    await b.expect("room", timeout=10, skip=SKIP)
    # A mute from worker 0 refuses Bob's message on worker 1.
    await a.send({"type": "mute", "member": b.hello["you"]["id"], "seconds": 600})
    assert (await b.expect("member", timeout=10, skip=SKIP))["member"]["muted_until"]
    await b.send({"type": "message", "body": "four", "client_id": "b4"})
    assert (await b.expect("error", timeout=10, skip=SKIP))["code"] == "muted"
