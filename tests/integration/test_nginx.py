"""The deployment recipe as a person runs it: nginx in front of two workers, DEBUG off."""
import asyncio
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from bench import loopback, ports
from tests.integration.client import Browser
from tests.integration.conftest import WORKER_ENV, require_nginx

pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.postgres]

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def proxied(live):
    require_nginx()
    return live


async def test_a_browser_through_nginx_creates_a_room_and_chats_with_a_worker_direct_socket(proxied, browsers):
    alice, bob = browsers(proxied.nginx.url), browsers(proxied.workers[1].url)
    code = await alice.enter(name="Alice")  # GET / for the CSRF cookie, POST / with Origin, via nginx
    await bob.enter(name="Bob", action="join", code=code)
    a = await alice.open(code)  # the WebSocket upgrade through nginx
    b = await bob.open(code)

    await b.send({"type": "message", "body": "through the proxy?", "client_id": "q"})

    assert (await a.expect("message", client_id="q"))["body"] == "through the proxy?"


async def test_nginx_spreads_sockets_over_both_workers_without_stickiness(proxied, browsers):
    alice = browsers(proxied.nginx.url)
    code = await alice.enter(name="Alice")
    everyone = {w.port for w in proxied.workers}
    # nginx leaves a worker that refused a connection alone for fail_timeout (5 s): a worker
    # restarted by an earlier test may take that long to get sockets again.
    for _ in range(40):
        await alice.open(code)
        if _workers_that_served(proxied, code) == everyone:
            break
        await asyncio.sleep(0.25)

    assert _workers_that_served(proxied, code) == everyone


async def test_a_killed_worker_does_not_stop_new_visitors_through_nginx(proxied, browsers):
    proxied.workers[0].kill()
    for n in range(3):  # round robin would land on the dead worker at least once
        visitor = browsers(proxied.nginx.url)
        code = await visitor.enter(name=f"Visitor{n}")
        socket = await visitor.open(code)
        assert socket.hello["room"]["code"] == code


async def test_a_socket_whose_worker_died_resumes_through_nginx_with_after(proxied, browsers):
    alice, bob = browsers(proxied.nginx.url), browsers(proxied.nginx.url)
    code = await alice.enter(name="Alice")
    await bob.enter(name="Bob", action="join", code=code)
    first = await alice.open(code)
    seen = first.hello["room"]["seq"]
    (doomed,) = _workers_that_served(proxied, code)
    survivor = next(w for w in proxied.workers if w.port != doomed)
    bob_socket = await bob.open(code, base_url=survivor.url)

    next(w for w in proxied.workers if w.port == doomed).kill()
    while (await first.next(timeout=5)) is not None:  # the page sees its socket close
        pass
    await bob_socket.send({"type": "message", "body": "while you were away", "client_id": "away"})
    await bob_socket.expect("message", client_id="away")

    resumed = await _reconnect(alice, code, after=seen)  # what the page does

    assert [m["client_id"] for m in resumed.hello["messages"]] == ["away"]


def test_static_files_are_served_by_nginx_from_collectstatic(proxied):
    with urllib.request.urlopen(proxied.nginx.url + "/static/admin/css/base.css", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/css"
        assert "Expires" in response.headers or "Cache-Control" in response.headers
        assert response.headers["Server"] == "nginx"


def test_production_env_example_passes_check_deploy():
    values = loopback._read_env_file(BASE_DIR / "deploy" / "production.env.example")
    env = {**_clean_environ(), **values, "DJANGO_SETTINGS_MODULE": "chatsite.settings"}
    result = subprocess.run(
        [loopback.venv_python(), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_production_site_is_valid_nginx(tmp_path):
    require_nginx()
    site = tmp_path / "chatsite.conf"
    out = subprocess.run(
        [loopback.venv_python(), "deploy/nginx.py", "--listen", "127.0.0.1:18299",
         "--server-name", "chat.example.com", "--upstream", "127.0.0.1:8001", "--upstream", "127.0.0.1:8002",
         "--static-root", str(tmp_path / "static")],
        cwd=BASE_DIR, capture_output=True, text=True, check=True,
    ).stdout
    site.write_text(out)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};\n"
        f"  fastcgi_temp_path {tmp_path}; uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path};\n"
        f"  include {site}; }}\n"
    )
    result = subprocess.run([loopback.NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                             "-e", str(tmp_path / "error.log")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


async def _reconnect(browser, code, after, within=12):
    """The page's reconnect: retry with ?after= until a worker takes it. nginx answers 502 while
    every worker it knows is dead or resting after a failure (fail_timeout): the upgrade is refused
    (bench.wsclient.HandshakeError, a ConnectionError) or the connection fails."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return await browser.open(code, after=after)
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)


def _workers_that_served(topology, code):
    """Which workers accepted a socket for the room: daphne logs each WSCONNECT with its path."""
    return {w.port for w in topology.workers if f"WSCONNECT /ws/rooms/{code}/" in w.log_path.read_text()}


def _clean_environ():
    import os

    return {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "PYTHONPATH"}}


@pytest.fixture(scope="module")
def https_worker(database_url, tmp_path_factory):
    """One worker with the production HTTPS settings, reached as nginx with TLS would reach it."""
    redis = loopback.RedisServer(ports.free_port(ports.LOOPBACK), log_dir=tmp_path_factory.mktemp("https-redis")).start()
    env = {**WORKER_ENV, "SECURE_SSL_REDIRECT": "1", "SECURE_COOKIES": "1", "SECURE_HSTS_SECONDS": "3600"}
    topo = loopback.Topology(database_url=database_url, redis_url=redis.url, workers=1, use_nginx=False, env=env)
    topo.prepare()
    try:
        yield topo.start().workers[0]
    finally:
        topo.stop()
        redis.stop()


TLS_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


async def test_behind_a_tls_proxy_plain_http_is_redirected_to_https(https_worker):
    status, headers, _ = await Browser(https_worker.url).request("GET", "/")

    assert status == 301 and headers["Location"].startswith("https://")


async def test_behind_a_tls_proxy_the_form_and_socket_work_with_secure_cookies(https_worker, browsers):
    host = https_worker.url.removeprefix("http://")
    alice = browsers(https_worker.url)
    alice.headers, alice.origin = TLS_PROXY, f"https://{host}"

    code = await alice.enter(name="Alice")  # CSRF passes: Origin https://host matches the forwarded scheme
    status, headers, _ = await alice.request("GET", f"/rooms/{code}/")

    assert status == 200 and "max-age=3600" in headers["Strict-Transport-Security"]
    assert {"csrftoken", "chat_identity"} <= set(alice.cookies)
    assert all("; Secure" in line for line in alice.set_cookies), alice.set_cookies
    socket = await alice.open(code)
    assert socket.hello["you"]["name"] == "Alice"


@pytest.fixture(scope="module")
def tls_site(database_url, redis_server):
    """The production shape end to end: TLS at nginx, two workers with the HTTPS settings."""
    require_nginx()
    if not shutil.which("openssl"):
        pytest.skip("openssl not found (needed for the self-signed certificate)")
    env = {**WORKER_ENV, "SECURE_SSL_REDIRECT": "1", "SECURE_COOKIES": "1", "SECURE_HSTS_SECONDS": "3600"}
    topo = loopback.Topology(database_url=database_url, redis_url=redis_server.url, env=env, tls=True)
    topo.prepare()
    try:
        yield topo.start()
    finally:
        topo.stop()
        shutil.rmtree(topo.run_dir, ignore_errors=True)


async def test_over_https_through_nginx_two_browsers_chat_with_secure_cookies(tls_site, browsers):
    alice, bob = browsers(tls_site.url), browsers(tls_site.url)
    code = await alice.enter(name="Alice")  # CSRF over https: Origin https://host matches what Django sees
    await bob.enter(name="Bob", action="join", code=code)
    a = await alice.open(code)  # wss through nginx, upgraded to a worker over plain http
    b = await bob.open(code)

    await b.send({"type": "message", "body": "over TLS", "client_id": "tls"})

    assert (await a.expect("message", client_id="tls"))["body"] == "over TLS"
    assert all("; Secure" in line for line in alice.set_cookies + bob.set_cookies)
    status, headers, _ = await alice.request("GET", f"/rooms/{code}/")
    assert status == 200 and "max-age=3600" in headers["Strict-Transport-Security"]
