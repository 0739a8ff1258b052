"""A worker told to stop (SIGTERM) lets its sockets go as a stream: each is told when to come
back and closed with 1012 over CHAT_DRAIN_SECONDS, and what it was sent is stored first."""
import json
import signal
import subprocess
import sys
import threading
import time

import pytest

from bench.wsclient import BlockingSocket
from tests.hardening.conftest import ROOT, Daphne

pytestmark = pytest.mark.integration

DRAIN_SECONDS = 1.5


def test_sigterm_closes_every_socket_over_the_drain_window_with_1012_and_loses_nothing(tmp_path):
    server = Daphne(tmp_path, CHAT_DRAIN_SECONDS=str(DRAIN_SECONDS), CHAT_WS_PER_ADDRESS="0").start()
    try:
        code = server.new_room()
        sockets = [BlockingSocket(server.port, f"/ws/rooms/{code}/", timeout=10) for _ in range(12)]
        for ws in sockets:
            assert ws.receive_type("hello")
        sockets[0].send_json({"type": "message", "body": "just before the restart", "client_id": "last-words"})
        server.process.send_signal(signal.SIGTERM)
        closes = {}

        def watch(index, ws):
            error = ws.receive_type("error")
            closes[index] = (time.monotonic(), error, ws.close_code())

        threads = [threading.Thread(target=watch, args=(n, ws)) for n, ws in enumerate(sockets)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DRAIN_SECONDS + 10)
        assert len(closes) == len(sockets)
        for _, error, close_code in closes.values():
            assert error["code"] == "service_restart" and error["retry_after_ms"] >= 500
            assert close_code == 1012
        times = sorted(at for at, _, _ in closes.values())
        assert times[-1] - times[0] > DRAIN_SECONDS / 3  # a stream, not a wall
        assert server.process.wait(timeout=15) is not None
    finally:
        if server.process.poll() is None:
            server.stop()
        server.log.close()
    stored = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from rooms.models import Message; print(list(Message.objects.values_list('client_id', flat=True)))"],
        cwd=ROOT, env=server.env, check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    assert json.loads(stored.replace("'", '"')) == ["last-words"]
