"""Requests that arrive together share one trip to the database thread (rooms/live/batching.py):
batches are capped, and callers that left never hold up the others."""
import asyncio
import threading

import pytest

from rooms.live.batching import Batcher

# The work runs through database_sync_to_async, which tidies the database thread's connection
# (left open by earlier socket tests) before and after: database access must be allowed.
pytestmark = pytest.mark.django_db(transaction=True)


async def test_requests_waiting_together_go_in_batches_of_at_most_max_items():
    seen = []

    def work(items):
        seen.append(list(items))
        return [item * 10 for item in items]

    batcher = Batcher(work, max_items=2)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert seen == [[0, 1], [2, 3], [4]]


async def test_a_whole_batch_of_callers_that_left_does_not_stop_the_requests_behind_it():
    seen = []
    batcher = Batcher(lambda items: seen.append(list(items)) or items, max_items=2)
    left = [asyncio.ensure_future(batcher.submit(n)) for n in range(2)]
    staying = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0)  # all three are waiting; the batch has not started
    for caller in left:
        caller.cancel()  # their batch is left empty: it costs nothing
    assert await asyncio.wait_for(staying, 5) == 2
    assert seen == [[2]]


async def test_a_caller_that_leaves_during_its_batch_does_not_keep_the_others_from_their_results():
    started, release = threading.Event(), threading.Event()

    def work(items):
        started.set()
        release.wait(5)
        return [f"r{item}" for item in items]

    batcher = Batcher(work)
    callers = [asyncio.ensure_future(batcher.submit(n)) for n in range(3)]
    await asyncio.sleep(0)
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    callers[0].cancel()
    release.set()
    assert await asyncio.wait_for(asyncio.gather(callers[1], callers[2]), 5) == ["r1", "r2"]


async def test_an_item_whose_result_is_an_exception_raises_it_to_its_caller_only():
    def work(items):
        return [ValueError("bad") if item == "bad" else item for item in items]

    batcher = Batcher(work)
    good, bad = batcher.submit("good"), batcher.submit("bad")
    results = await asyncio.gather(good, bad, return_exceptions=True)
    assert results[0] == "good" and isinstance(results[1], ValueError)
