"""Outgoing webhooks against a real server: a receiver on loopback gets signed deliveries and
its JSON answer is posted as the bot; a receiver that is down gets them after it comes back; a
worker killed mid-delivery loses none (the delivery is made again after its lease)."""
import json
import signal
import threading
import time

import pytest

from bench import ports
from bench.wsclient import BlockingSocket
from tests.bots.server import BotServer, Receiver

pytestmark = pytest.mark.integration

WEBHOOK_ENV = dict(
    CHAT_WEBHOOK_ALLOW_PRIVATE="1", CHAT_WEBHOOK_BOTS_CACHE_SECONDS="0", CHAT_WEBHOOK_TIMEOUT_SECONDS="1",
    CHAT_WEBHOOK_BACKOFF_SECONDS="0.2", CHAT_WEBHOOK_BACKOFF_MAX_SECONDS="0.5", CHAT_WEBHOOK_POLL_SECONDS="0.2",
    CHAT_LEAVE_GRACE="0.1", CHAT_RATE_LIMIT="off",
)


@pytest.fixture
def server(tmp_path):
    server = BotServer(tmp_path, **WEBHOOK_ENV).start()
    yield server
    server.stop()


def person(server, code):
    sock = BlockingSocket(server.port, f"/ws/rooms/{code}/")
    assert sock.receive_type("hello")
    return sock


def say(sock, body):
    sock.send_json({"type": "message", "body": body})
    return sock.receive_type("message")


def test_signed_deliveries_and_the_answer_posted_as_the_bot(server):
    code = server.new_room()
    receiver = Receiver(ports.free_port(ports.HARDENING, taken={server.port}),
                        answer=lambda m: {"body": "pong"} if m["body"] == "@Pinger ping" else None)
    token, receiver.secret = server.create_bot(code, "Pinger", "--webhook", receiver.url)
    receiver.start()
    try:
        sock = person(server, code)
        first = say(sock, "hello bot")
        ping = say(sock, "@Pinger ping")
        deliveries = receiver.wait_for(lambda d: len(d) >= 2)
        assert [(payload, signed) for payload, signed, _ in deliveries] == [(first, True), (ping, True)]
        pong = sock.receive_type("message")  # the answer, live, as the bot
        assert pong["body"] == "pong" and pong["author"]["bot"] is True and pong["author"]["name"] == "Pinger"
        # The bot's own answer is not delivered back to it.
        time.sleep(1)
        assert len(receiver.deliveries) == 2
        sock.close()
    finally:
        receiver.stop()


def test_mentions_only(server):
    code = server.new_room()
    receiver = Receiver(ports.free_port(ports.HARDENING, taken={server.port}))
    _, receiver.secret = server.create_bot(code, "Quiet Bot", "--webhook", receiver.url, "--mentions-only")
    receiver.start()
    try:
        sock = person(server, code)
        say(sock, "nobody called")
        called = say(sock, "hey @quiet bot, wake up")
        deliveries = receiver.wait_for(lambda d: len(d) >= 1)
        time.sleep(1)
        assert [payload["id"] for payload, _, _ in deliveries] == [called["id"]]
    finally:
        receiver.stop()


def test_receiver_down_gets_them_after_it_comes_back(server):
    code = server.new_room()
    receiver = Receiver(ports.free_port(ports.HARDENING, taken={server.port}))
    _, receiver.secret = server.create_bot(code, "Later", "--webhook", receiver.url)
    sock = person(server, code)
    sent = [say(sock, f"while you were away {n}") for n in range(3)]
    time.sleep(2)  # several attempts fail: nobody listens
    receiver.start()
    try:
        deliveries = receiver.wait_for(lambda d: {p["id"] for p, _, _ in d} >= {m["id"] for m in sent})
        assert all(signed for _, signed, _ in deliveries)
    finally:
        receiver.stop()
    log = json.loads(server.manage("shell", "-c", (
        "import json; from rooms.bots.models import BotDelivery; "
        "print(json.dumps([[d.status, d.attempts] for d in BotDelivery.objects.order_by('seq')]))"
    )).strip().splitlines()[-1])
    assert [status for status, _ in log] == ["delivered"] * 3
    assert max(attempts for _, attempts in log) > 1  # they were retried, not sent once after the wait


def test_worker_killed_mid_delivery_loses_none(server):
    code = server.new_room()
    receiver = Receiver(ports.free_port(ports.HARDENING, taken={server.port}))
    _, receiver.secret = server.create_bot(code, "Survivor", "--webhook", receiver.url)
    receiver.hold = threading.Event()  # the first delivery hangs until the worker is dead
    receiver.start()
    try:
        sock = person(server, code)
        message = say(sock, "deliver me, whatever happens")
        receiver.wait_for(lambda d: len(d) == 1)
        sock.close()
        server.process.send_signal(signal.SIGKILL)  # mid-delivery: no drain, no goodbye
        server.process.wait(10)
        server.log.close()
        receiver.hold.set()
        receiver.hold = None
        server.start()  # the same database; the first request starts the new worker's loop
        server.request("GET", "/")
        deliveries = receiver.wait_for(lambda d: len(d) >= 2)
        assert deliveries[1][0] == message and deliveries[1][1] is True
        assert deliveries[0][2] == deliveries[1][2]  # the same delivery, made again
    finally:
        receiver.stop()


def test_a_separate_delivery_worker_killed_mid_delivery_loses_none(tmp_path):
    """CHAT_WEBHOOK_WORKER=off: `manage.py deliver_webhooks` delivers; killed mid-delivery, the
    next worker makes the delivery again."""
    import subprocess
    import sys

    from tests.hardening.conftest import ROOT

    server = BotServer(tmp_path, **WEBHOOK_ENV, CHAT_WEBHOOK_WORKER="off").start()
    receiver = Receiver(ports.free_port(ports.HARDENING, taken={server.port}))
    workers = []

    def worker():
        log = open(tmp_path / f"worker-{len(workers)}.log", "w")
        workers.append(subprocess.Popen([sys.executable, "manage.py", "deliver_webhooks"], cwd=ROOT, env=server.env,
                                        stdout=log, stderr=subprocess.STDOUT))

    try:
        code = server.new_room()
        _, receiver.secret = server.create_bot(code, "Outside", "--webhook", receiver.url)
        receiver.hold = threading.Event()
        receiver.start()
        sock = person(server, code)
        message = say(sock, "for the outside worker")
        time.sleep(1)
        assert receiver.deliveries == []  # the server itself delivers nothing with the setting off
        worker()
        receiver.wait_for(lambda d: len(d) == 1)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        receiver.hold.set()
        receiver.hold = None
        worker()
        deliveries = receiver.wait_for(lambda d: len(d) >= 2)
        assert [d[0] for d in deliveries] == [message, message] and deliveries[0][2] == deliveries[1][2]
        sock.close()
    finally:
        for process in workers:
            process.kill()
            process.wait()
        receiver.stop()
        server.stop()
