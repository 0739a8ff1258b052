"""Per-address limits are one budget across workers (rooms/live/shared.py): two real workers on
one private Redis; every socket here comes from 127.0.0.1, so they all count for one address."""
import asyncio

import pytest

from bench import loopback
from tests.integration.client import Browser
from tests.integration.conftest import WORKER_ENV, running

pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.postgres]

PER_ADDRESS = 4
GUESSES = 4
SOCKET_TTL = 3.0  # seconds: how soon a killed worker's sockets stop counting


@pytest.fixture(scope="module")
def limited(database_url, redis_server):
    """Two workers with small per-address limits, their counts under a prefix of their own."""
    env = {**WORKER_ENV, "CHAT_WS_PER_ADDRESS": str(PER_ADDRESS), "CHAT_CODE_GUESS_LIMIT": f"{GUESSES}/300",
           "CHAT_SHARED_SOCKET_TTL": str(SOCKET_TTL), "REDIS_PREFIX": "shared-limits-it"}
    yield from running(loopback.Topology(database_url=database_url, redis_url=redis_server.url, env=env, use_nginx=False))


def _forget_counts(server):
    import redis

    client = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match="shared-limits-it:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def people(limited, redis_server):
    _forget_counts(redis_server)  # each test starts with the address's whole budget
    made = []

    def make(worker):
        browser = Browser(worker.url)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        await browser.close()
    for worker in limited.workers:
        if not worker.running:
            worker.start()


async def _refused(browser, code):
    """Open a socket that the server refuses: (the error frame, the close code)."""
    socket = await browser.open(code, expect_hello=False)
    frame = await socket.next(timeout=10)
    while await socket.next(timeout=10) is not None:
        pass
    return frame, socket.close_code


async def test_an_address_gets_one_socket_budget_across_both_workers(limited, people):
    zero, one = limited.workers
    a, b = people(zero), people(one)
    code = await a.enter(name="Ann")
    await b.enter(name="Ben", action="join", code=code)
    for _ in range(PER_ADDRESS // 2):
        await a.open(code)
        await b.open(code)
    for browser in (a, b):  # the budget is used up on both workers, not just on the busier one
        frame, close_code = await _refused(browser, code)
        assert close_code == 4429 and frame["code"] == "rate_limited" and "open connections" in frame["detail"]
    await a.sockets[0].close()  # closing one socket on worker 0 frees a place on worker 1
    await _opens_within(b, code, 10, "a closed socket on the other worker still counts")


async def test_room_code_guesses_count_once_across_both_workers(limited, people):
    zero, one = limited.workers
    a, b = people(zero), people(one)
    code = await a.enter(name="Guesser")
    for index in range(GUESSES):
        browser = (a, b)[index % 2]
        socket = await browser.open(f"ZQ{index}X", expect_hello=False)
        while await socket.next(timeout=10) is not None:
            pass
        assert socket.close_code == 4404
    for browser in (a, b):  # even a real code is refused now, on either worker
        frame, close_code = await _refused(browser, code)
        assert close_code == 4429 and "wrong room codes" in frame["detail"]


async def test_the_sockets_of_a_killed_worker_stop_counting_within_the_ttl(limited, people, redis_server):
    zero, one = limited.workers
    a, b = people(zero), people(one)
    code = await a.enter(name="Cat")
    await b.enter(name="Dan", action="join", code=code)
    for _ in range(PER_ADDRESS - 1):
        await b.open(code)
    await a.open(code)
    frame, close_code = await _refused(a, code)
    assert close_code == 4429
    one.kill()  # no close reaches Redis: only the expiry frees the three places
    await _opens_within(a, code, SOCKET_TTL * 4 + 10, "the killed worker's sockets still count")


async def _opens_within(browser, code, seconds, complaint):
    """Open a socket, trying again while it is refused, for at most `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        socket = await browser.open(code, expect_hello=False)
        frame = await socket.next(timeout=10)
        if frame is not None and frame["type"] == "hello":
            return socket
        assert loop.time() < deadline, complaint
        await asyncio.sleep(0.2)
