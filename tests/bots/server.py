"""A real chatsite server for the bot tests (python -m chatsite.serve on a loopback port, its own
SQLite file), a real HTTP client, bots made with `manage.py create_bot`, and webhook receivers."""
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.hardening.conftest import ROOT, Daphne


class BotServer(Daphne):
    """On PostgreSQL when the tests run on it (DATABASE_URL): a fresh database of its own, named
    after DATABASE_TEST_NAME and the port, dropped at stop(); else SQLite in its folder."""

    def __init__(self, tmp, **env):
        super().__init__(tmp, **env)
        url = os.environ.get("DATABASE_URL", "")
        self.pg = None
        if url.startswith("postgres"):
            parts = urlsplit(url)
            self.pg = (url, f"{os.environ.get('DATABASE_TEST_NAME', 'chatsite_test')}_srv_{self.port}")
            self.env["DATABASE_URL"] = parts._replace(path=f"/{self.pg[1]}").geturl()
            self.env["CONN_MAX_AGE"] = "0"
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg[1]}"', f'CREATE DATABASE "{self.pg[1]}"')

    def _admin(self, *statements):
        import psycopg

        with psycopg.connect(self.pg[0].replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def stop(self):
        super().stop()
        if self.pg is not None:
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg[1]}" WITH (FORCE)')

    def manage(self, *args):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                                capture_output=True, text=True, timeout=60)
        return result.stdout

    def create_bot(self, code, name, *options):
        """(token, webhook secret or None) of a new bot, as an operator makes one."""
        out = self.manage("create_bot", code, name, *options).strip().splitlines()
        secret = next((line.split(": ", 1)[1] for line in out if line.startswith("Webhook secret")), None)
        return out[-1], secret

    def revoke(self, token):
        self.manage("shell", "-c", "from rooms.bots import accounts, revoke_bot; "
                    f"revoke_bot(accounts.bot_for_token({token!r}))")

    def request(self, method, path, token=None, body=None, headers=None):
        """(status, headers, JSON body) of a request to the server."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers, _json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, _json(error.read())


def _json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class Receiver:
    """A webhook receiver on a loopback port: keeps each delivery (checked against its signature),
    answers with `answer(payload)` (None: an empty 204); stop() and start() on the same port."""

    def __init__(self, port, secret=None, answer=None):
        self.port, self.secret, self.answer = port, secret, answer
        self.deliveries = []
        self.arrived = threading.Condition()
        self.hold = None  # a threading.Event: requests wait on it before answering
        self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(self.headers.get("X-Chatsite-Signature", ""), expected)
                payload = json.loads(body)
                with receiver.arrived:
                    receiver.deliveries.append((payload, signed, self.headers.get("X-Chatsite-Delivery")))
                    receiver.arrived.notify_all()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                reply = receiver.answer(payload) if receiver.answer else None
                data = b"" if reply is None else json.dumps(reply).encode()
                self.send_response(200 if reply is not None else 204)
                if reply is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait_for(self, condition, timeout=30):
        with self.arrived:
            assert self.arrived.wait_for(lambda: condition(self.deliveries), timeout), self.deliveries
        return self.deliveries
