"""Start and stop the systems under test: chatsite (and its variants) and the three baselines.

Each server runs pinned to one core (taskset), on a loopback port of bench/ports.py BENCH, with a
fresh database in its own temporary folder. Processes are started in a session of their own and
stopped by their process group id, never by name.
"""
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import ports, procstat

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "bench" / "baselines"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")


def pin_prefix(core):
    if core is None or not shutil.which("taskset"):
        return []
    return ["taskset", "-c", str(core)]


@dataclass
class Server:
    name: str
    ports: list
    procs: list = field(default_factory=list)
    workdir: Path = None
    db_path: Path = None
    extra_pids: list = field(default_factory=list)

    @property
    def pids(self):
        return [p.pid for p in self.procs]

    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def stored_messages(self):
        """Rows in chatsite's message table (None for systems that keep no messages)."""
        if self.db_path is None or not self.name.startswith("chatsite"):
            return None
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30) as db:
            return db.execute("select count(*) from rooms_message").fetchone()[0]

    def log_tail(self, lines=20):
        out = []
        for log in sorted(self.workdir.glob("*.log")):
            out += log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(out[-lines:])


def _django_env(workdir, extra=None):
    env = dict(os.environ)
    env.update(
        PYTHONUNBUFFERED="1",
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        CHAT_RATE_LIMIT="off",
        # Plain HTTP on loopback: no redirect to HTTPS, cookies without the Secure flag.
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        SECURE_HSTS_SECONDS="0",
        # Every simulated person comes from 127.0.0.1: the per-address guards would refuse them.
        CHAT_WS_PER_ADDRESS="0",
        CHAT_FLOOD_LIMIT="off",
        CHAT_CODE_GUESS_LIMIT="off",
        CHAT_ROOM_CREATE_LIMIT="off",
        CHATSITE_VAR_DIR=str(workdir),
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        TUTORIAL_DB=str(workdir / "db.sqlite3"),
    )
    env.pop("REDIS_URL", None)
    env.update(extra or {})
    return env


def _spawn(server, cmd, env, cwd, core, tag):
    log = open(server.workdir / f"{tag}.log", "wb")
    proc = subprocess.Popen(pin_prefix(core) + cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    server.procs.append(proc)


def _wait_listening(server, timeout=60):
    deadline = time.monotonic() + timeout
    for port in server.ports:
        while True:
            if not server.alive():
                raise RuntimeError(f"{server.name} exited:\n{server.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server.name} did not listen on {port}:\n{server.log_tail()}") from None
                time.sleep(0.1)


def redis_pids():
    """redis-server's pid, to report the Redis layer's CPU apart (read only)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == "redis-server":
                    found.append(int(entry))
            except OSError:
                pass
    return found


def _flush_redis():
    """Empty the benchmark's own Redis database (index 3 by default), nothing else."""
    subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=True, capture_output=True, timeout=10)


# name -> (description, how to start)
def _chatsite(server, core, extra_env=None, workers=1, root=ROOT):
    """chatsite's production server (python -m chatsite.serve: daphne plus its socket limits) on fresh SQLite."""
    env = _django_env(server.workdir, {**(extra_env or {}), **getattr(server, "extra_env", {})})
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=root, check=True, timeout=120)
    for i, port in enumerate(server.ports[:workers]):
        cmd = [sys.executable, "-m", "chatsite.serve", "-b", "127.0.0.1", "-p", str(port)]
        _spawn(server, cmd, env, root, core, f"daphne{i}")


def _base_tree():
    """The checkout that `chatsite-base` runs (BENCH_BASE_TREE): a change measured against it in one run."""
    tree = os.environ.get("BENCH_BASE_TREE")
    if not tree or not (Path(tree) / "chatsite" / "serve.py").exists():
        raise RuntimeError("chatsite-base needs BENCH_BASE_TREE: a checkout of the commit to compare with, "
                           "e.g. git worktree add /tmp/base HEAD~1")
    return Path(tree)


def _chatsite_uvicorn(server, core):
    """The same application on uvicorn (uvloop, httptools, websockets, no compression)."""
    env = _django_env(server.workdir, getattr(server, "extra_env", {}))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=120)
    cmd = [sys.executable, "-m", "chatsite.serve_uvicorn", "--host", "127.0.0.1", "--port", str(server.ports[0])]
    _spawn(server, cmd, env, ROOT, core, "uvicorn")


SYSTEMS = {
    "chatsite": dict(
        about="chatsite on daphne, in-memory channel layer, SQLite",
        client="chatsite", ports=1,
        start=lambda s, core: _chatsite(s, core),
    ),
    "chatsite-base": dict(
        about="chatsite on daphne as of another checkout (BENCH_BASE_TREE): before and after in one run",
        client="chatsite", ports=1,
        start=lambda s, core: _chatsite(s, core, root=_base_tree()),
    ),
    "chatsite-redis": dict(
        about="chatsite on daphne, channels-redis layer (Redis CPU reported apart)",
        client="chatsite", ports=1, redis=True,
        start=lambda s, core: _chatsite(s, core, {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": "bench"}),
    ),
    "chatsite-2w": dict(
        about="two chatsite daphne workers on the same core, channels-redis layer, members split between them",
        client="chatsite", ports=2, redis=True,
        start=lambda s, core: _chatsite(s, core, {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": "bench"}, workers=2),
    ),
    "chatsite-2w-base": dict(
        about="chatsite-2w as of another checkout (BENCH_BASE_TREE): two workers before and after in one run",
        client="chatsite", ports=2, redis=True,
        start=lambda s, core: _chatsite(s, core, {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": "bench"}, workers=2,
                                        root=_base_tree()),
    ),
    "chatsite-uvicorn": dict(
        about="chatsite on uvicorn (uvloop, httptools, websockets), in-memory channel layer, SQLite",
        client="chatsite", ports=1, module="uvicorn",
        start=lambda s, core: _chatsite_uvicorn(s, core),
    ),
    "tutorial": dict(
        about="Channels tutorial ChatConsumer on daphne, in-memory layer",
        client="tutorial", ports=1,
        start=lambda s, core: _tutorial(s, core),
    ),
    "flask-socketio": dict(
        about="Flask-SocketIO room chat, threading mode, Werkzeug server",
        client="flask-socketio", ports=1, module="flask_socketio",
        start=lambda s, core: _spawn(s, [sys.executable, str(BASELINES / "flask_socketio_chat.py"), str(s.ports[0])],
                                     _django_env(s.workdir), ROOT, core, "flask"),
    ),
    "ws-relay": dict(
        about="bare websockets relay with websockets.broadcast (no compression)",
        client="ws-relay", ports=1, module="websockets",
        start=lambda s, core: _spawn(s, [sys.executable, str(BASELINES / "ws_relay.py"), str(s.ports[0])],
                                     _django_env(s.workdir), ROOT, core, "relay"),
    ),
}


def _tutorial(server, core):
    cwd = BASELINES / "tutorial"
    env = _django_env(server.workdir, {"DJANGO_SETTINGS_MODULE": "mysite.settings"})
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=cwd, check=True, timeout=120)
    _spawn(server, [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(server.ports[0]),
                    "mysite.asgi:application"], env, cwd, core, "daphne")


def available(name):
    """Whether a system's extra packages (bench/requirements.txt) are installed."""
    if name in ("chatsite-base", "chatsite-2w-base") and not os.environ.get("BENCH_BASE_TREE"):
        return False
    module = SYSTEMS[name].get("module")
    if module:
        try:
            __import__(module)
        except ImportError:
            return False
    if SYSTEMS[name].get("redis"):
        try:
            subprocess.run(["redis-cli", "-u", REDIS_URL, "ping"], check=True, capture_output=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return False
    return True


def start(name, core=0, extra_env=None):
    """`extra_env`: settings for this run on top of the system's (chatsite systems only)."""
    spec = SYSTEMS[name]
    server = Server(name=name, ports=ports.free_ports(ports.BENCH, spec["ports"]))
    server.extra_env = dict(extra_env or {})
    server.workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    server.db_path = server.workdir / "db.sqlite3"
    if spec.get("redis"):
        _flush_redis()
        server.extra_pids = redis_pids()
    try:
        spec["start"](server, core)
        _wait_listening(server)
    except BaseException:
        stop(server)
        raise
    time.sleep(0.5)
    return server


def stop(server, keep=False):
    for proc in server.procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for proc in server.procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
    if not keep and server.workdir is not None:
        shutil.rmtree(server.workdir, ignore_errors=True)


def tree_pids(server):
    return procstat.tree(server.pids)
