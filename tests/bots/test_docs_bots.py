"""The two bots of docs/bots.md, run as written against a real server: the webhook bot answers
`@bot ping` with `pong`, the reader answers `!time` it found with `?after=`."""
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from bench import ports
from bench.wsclient import BlockingSocket
from tests.bots.server import BotServer
from tests.bots.test_webhooks_server import WEBHOOK_ENV
from tests.hardening.conftest import ROOT

pytestmark = pytest.mark.integration


def example(name):
    """The code block of docs/bots.md that starts with `# <name>`."""
    text = (ROOT / "docs" / "bots.md").read_text()
    found = re.search(r"```python\n(# " + re.escape(name) + r"\n.*?)```", text, re.S)
    assert found, name
    return found.group(1)


@pytest.fixture
def server(tmp_path):
    server = BotServer(tmp_path, **WEBHOOK_ENV).start()
    yield server
    server.stop()


def run(tmp_path, name, **env):
    path = tmp_path / name
    path.write_text(example(name))
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen([sys.executable, str(path)], env={"PATH": "/usr/bin:/bin", **env}, stdout=log,
                            stderr=subprocess.STDOUT)


def listening(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            return  # it answers (501 to a GET): it listens
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_ping_bot_answers_through_the_webhook(server, tmp_path):
    code = server.new_room()
    port = ports.free_port(ports.HARDENING, taken={server.port})
    _, secret = server.create_bot(code, "bot", "--webhook", f"http://127.0.0.1:{port}/", "--mentions-only")
    bot = run(tmp_path, "ping_bot.py", WEBHOOK_SECRET=secret, PORT=str(port))
    try:
        listening(port)
        sock = BlockingSocket(server.port, f"/ws/rooms/{code}/")
        sock.receive_type("hello")
        sock.send_json({"type": "message", "body": "@bot ping"})
        ping = sock.receive_type("message")
        pong = sock.receive_type("message")
        assert pong["body"] == "pong" and pong["author"]["bot"] is True and pong["reply_to"]["id"] == ping["id"]
        sock.close()
    finally:
        bot.kill()
        bot.wait()


def test_clock_bot_reads_with_after_and_posts(server, tmp_path):
    code = server.new_room()
    token, _ = server.create_bot(code, "Clock")
    sock = BlockingSocket(server.port, f"/ws/rooms/{code}/")
    sock.receive_type("hello")
    bot = run(tmp_path, "clock_bot.py", CHAT_SERVER=f"http://127.0.0.1:{server.port}", CHAT_ROOM=code, CHAT_TOKEN=token)
    try:
        time.sleep(2)  # it starts reading from the room's seq at its start
        assert bot.poll() is None, (tmp_path / "clock_bot.py.log").read_text()
        sock.send_json({"type": "message", "body": "!time"})
        asked = sock.receive_type("message")
        answer = sock.receive_type("message")
        assert answer["author"]["name"] == "Clock" and answer["reply_to"]["id"] == asked["id"]
        assert re.fullmatch(r"\d\d:\d\d:\d\d UTC", answer["body"])
        sock.close()
    finally:
        bot.kill()
        bot.wait()
