"""Real servers on loopback: a private redis-server, a fresh PostgreSQL database, two daphne
workers and nginx (bench/loopback.py), driven by real browsers (client.py: the page flow and
WebSocket client of bench/).

Timeouts are shrunk through the workers' environment so that a killed worker's members leave
within seconds instead of the production ~50 s. Nothing here touches the shared Redis.
"""
import json
import os
import shutil
import textwrap

import pytest

from bench import loopback, ports
from tests.integration.client import Browser

# The workers' settings under test: presence timings shrunk (production defaults: 5, 10, 40).
WORKER_ENV = {
    "CHAT_TICK_SECONDS": "1",
    "CHAT_HEARTBEAT_SECONDS": "1",
    "CHAT_PRESENCE_TIMEOUT": "4",
    "CHAT_LEAVE_GRACE": "0.3",
    "CHAT_RATE_LIMIT": "1000/10",
    "LOG_LEVEL": "INFO",
    # Every test browser comes from 127.0.0.1: the per-address socket and room caps must not bite.
    "CHAT_WS_PER_ADDRESS": "500",
    "CHAT_ROOM_CREATE_LIMIT": "1000/600",
    "CHAT_DRAIN_SECONDS": "1",
}
# Extra worker settings for one run, e.g. IT_WORKER_ENV='{"REDIS_SOCKET_TIMEOUT": "10"}'.
WORKER_ENV.update(json.loads(os.environ.get("IT_WORKER_ENV", "{}")))
PRESENCE_TIMEOUT = float(WORKER_ENV["CHAT_PRESENCE_TIMEOUT"])
# A killed worker's member is swept once its last heartbeat is older than the timeout, by the
# next sweep of a surviving worker (which runs every heartbeat, rounded up to a tick).
LEAVE_DEADLINE = PRESENCE_TIMEOUT + 2 * float(WORKER_ENV["CHAT_HEARTBEAT_SECONDS"]) + 3

POSTGRES_URL = os.environ.get("IT_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _postgres_reachable():
    import psycopg

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        return False


def require_redis_server():
    if not loopback.REDIS_SERVER:
        pytest.skip("redis-server binary not found on PATH")


def require_nginx():
    if not loopback.NGINX:
        pytest.skip("nginx binary not found (apt-get install nginx)")


@pytest.fixture(scope="session")
def database_url():
    if not _postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/chatsite_it_{os.getpid()}"
    loopback.database_create(url, fresh=True)
    yield url
    loopback.database_drop(url)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    require_redis_server()
    port = ports.free_port(ports.LOOPBACK)
    server = loopback.RedisServer(port, log_dir=tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def topology(database_url, redis_server):
    """Two workers and nginx for the whole session; tests that kill a worker restart it."""
    topo = loopback.Topology(database_url=database_url, redis_url=redis_server.url, env=WORKER_ENV)
    topo.redis_server = redis_server
    yield from running(topo)


def running(topo):
    """Prepare and start a loopback topology (printing its logs if it does not come up), yield it
    to the fixture's users, then stop it and remove its files: `yield from running(topo)`."""
    topo.prepare()
    try:
        topo.start()
    except Exception:
        print(topo.logs())
        topo.stop()
        raise
    yield topo
    topo.stop()
    shutil.rmtree(topo.run_dir, ignore_errors=True)


@pytest.fixture
def live(topology, request):
    """The session topology with every worker up; on failure the servers' logs are printed."""
    for worker in topology.workers:
        if not worker.running:
            worker.start()
    yield topology
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(topology.logs(60))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
async def browsers():
    """browsers(base_url) -> a new Browser; all their sockets close at teardown."""
    made = []

    def make(base_url):
        browser = Browser(base_url)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        await browser.close()


def manage_shell(topology, code):
    """Run Python in a third process with the workers' settings (like the admin or a cron job)."""
    result = topology.manage("shell", "--no-imports", "-c", textwrap.dedent(code), check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def redis_keys(server):
    """Every key in a private redis-server."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
    try:
        return sorted(key.decode() for key in client.keys("*"))
    finally:
        client.close()
