"""The real chat server in a subprocess: `manage.py runserver` (daphne) on a loopback port.

Ports of bench/ports.py BROWSER only; a fresh SQLite file per server; stop() and start() again on
the same port and file to restart it mid-conversation.
"""
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from bench import ports

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30


class ChatServer:
    """`manage.py runserver` on one port and one database file; stop() and start() at will."""

    def __init__(self, port, database):
        self.port = port
        self.database = database
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = Path(f"{database}.log")
        self.process = None
        self.env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
        self.env.update(
            DATABASE_URL=f"sqlite:///{database}",
            CHAT_LEAVE_GRACE="0.5",
            CHAT_RATE_LIMIT="off",
            CHAT_DRAIN_SECONDS="1",  # stop() is a SIGTERM: the sockets are let go over a second
            CHAT_ROOM_CREATE_LIMIT="1000/600",  # every test person creates rooms from 127.0.0.1
            DEBUG="1",
            PYTHONUNBUFFERED="1",
        )

    def manage(self, *args, timeout=120, **env):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **env}, check=True,
            capture_output=True, text=True, timeout=timeout,
        )

    def start(self):
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited; see {self.log}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base_url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not answer within {START_TIMEOUT} s; see {self.log}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def url(self, path="/"):
        return self.base_url + path

    def remove_files(self):
        for suffix in ("", "-wal", "-shm", ".log"):
            Path(f"{self.database}{suffix}").unlink(missing_ok=True)


def new_server(**env):
    """A migrated database and a running server on a free port (with `env` on top of the test settings)."""
    server = ChatServer(ports.free_port(ports.BROWSER), f"/tmp/chatsite-browser-{uuid.uuid4().hex[:12]}.sqlite3")
    server.env.update(env)
    server.manage("migrate", "--noinput", "-v0")
    server.start()
    return server
