"""The production topology on loopback: N daphne workers behind nginx, on PostgreSQL and Redis.

Used by tests/integration, by bench/, and by a person trying the recipe of docs/deploy.md:

    .venv/bin/python -m bench.loopback up --workers 2 --nginx-port 18200

Every process gets its own session (process group), so stopping the topology never touches
anything it did not start. `Topology` is also a context manager for tests. The nginx site is
rendered from the production template by deploy/nginx.py, the operator's command.
"""
import argparse
import http.client
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench import ports
from deploy.nginx import render_site

BASE_DIR = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
REDIS_SERVER = shutil.which("redis-server")


def venv_python():
    candidate = BASE_DIR / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # a server that is starting refuses, resets or times out
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout} s ({last!r})")


def http_ok(url, timeout=2):
    """The server answers GET `url` with a page or a redirect (not followed: it may be to https)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        return conn.getresponse().status in {200, 301, 302}
    finally:
        conn.close()


# ---- PostgreSQL ----

def _maintenance_conninfo(database_url):
    parts = urlsplit(database_url)
    return parts._replace(path="/postgres").geturl(), parts.path.lstrip("/")


def database_create(database_url, *, fresh=False):
    """Create the database of a postgres:// URL if it is missing (drop it first with fresh)."""
    import psycopg

    conninfo, name = _maintenance_conninfo(database_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(database_url):
    import psycopg

    conninfo, name = _maintenance_conninfo(database_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- processes ----

class Process:
    """A child in its own process group, its output in a log file."""

    def __init__(self, name, argv, *, env=None, cwd=BASE_DIR, log_dir):
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.log_path = Path(log_dir) / f"{name}.log"
        self.popen = None

    def start(self):
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        return self

    @property
    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def signal(self, signum):
        if self.running:
            os.killpg(self.popen.pid, signum)

    def kill(self):
        """kill -9: no shutdown code runs, exactly like a crash or an OOM kill."""
        if self.running:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def stop(self, timeout=8):
        if not self.running:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


class RedisServer(Process):
    """A private, memory-only redis-server (for restart tests; never the shared one)."""

    def __init__(self, port, *, log_dir):
        self.port = port
        argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(log_dir)]
        super().__init__(f"redis-{port}", argv, log_dir=log_dir)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")

    def start(self):
        super().start()
        wait_for(self.ping, 10, f"redis-server on {self.port}")
        return self

    def restart(self, down_for=0.0):
        self.stop()
        time.sleep(down_for)
        return self.start()


class Worker(Process):
    """One worker: daphne with chatsite's socket limits (chatsite.serve) on a loopback port.

    --proxy-headers: behind nginx the client's address (per-address limits) and scheme (https,
    so Django's CSRF and secure-cookie logic see the browser's view) come from X-Forwarded-*.
    """

    def __init__(self, index, port, *, env, log_dir):
        self.index, self.port = index, port
        argv = [venv_python(), "-m", "chatsite.serve", "--proxy-headers", "-b", "127.0.0.1", "-p", str(port)]
        super().__init__(f"worker-{index}-{port}", argv, env=env, log_dir=log_dir)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=40):
        super().start()
        wait_for(lambda: self._alive() and http_ok(self.url + "/"), timeout, self.name)
        return self

    def _alive(self):
        if not self.running:
            raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
        return True


class Nginx(Process):
    """nginx from Debian with a prefix directory of its own: no root, no /etc/nginx changes."""

    def __init__(self, port, upstream_ports, *, static_root, run_dir, tls=False):
        self.port, self.tls = port, tls
        prefix = Path(run_dir) / "nginx"
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        tls_lines = ""
        if tls:
            # TLS ends at nginx as in production, with a throwaway self-signed certificate.
            cert, key = prefix / "cert.pem", prefix / "key.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                           check=True, capture_output=True)
            tls_lines = f"ssl_certificate {cert};\n    ssl_certificate_key {key};"
        site = render_site(
            listen=f"127.0.0.1:{port}" + (" ssl" if tls else ""), server_name="127.0.0.1 localhost",
            upstreams=[f"127.0.0.1:{p}" for p in upstream_ports], static_root=static_root, tls=tls_lines,
        )
        (prefix / "chatsite.conf").write_text(site)
        (prefix / "nginx.conf").write_text(
            "daemon off;\nworker_processes 1;\npid nginx.pid;\nerror_log logs/error.log warn;\n"
            # Each socket is two connections (client and upstream): room for the storm's 10,000.
            "worker_rlimit_nofile 30000;\nevents { worker_connections 24000; }\n"
            "http {\n  include /etc/nginx/mime.types;\n  access_log logs/access.log;\n"
            "  client_body_temp_path tmp/body; proxy_temp_path tmp/proxy;\n"
            "  fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;\n"
            "  include chatsite.conf;\n}\n"
        )
        (prefix / "tmp").mkdir(exist_ok=True)
        argv = [NGINX, "-p", str(prefix), "-c", "nginx.conf", "-e", "logs/error.log"]
        super().__init__(f"nginx-{port}", argv, log_dir=prefix / "logs")
        self.prefix = prefix

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def test_config(self):
        subprocess.run(self.argv + ["-t", "-q"], check=True, capture_output=True)

    def start(self, timeout=20):
        self.test_config()
        super().start()
        wait_for(lambda: http_ok(self.url + "/"), timeout, self.name)
        return self

    def stop(self, timeout=8):
        # SIGQUIT is nginx's graceful stop; SIGTERM is its fast one. Either ends the whole group.
        super().stop(timeout)


# ---- the topology ----

def loopback_env(*, database_url, redis_url, static_root, extra=None):
    """The worker environment: production settings except TLS (there is none on loopback)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CHAT_", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="chatsite.settings",
        PYTHONUNBUFFERED="1",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        STATIC_ROOT=str(static_root),
        # Plain http on loopback: cookies cannot be Secure and nothing may redirect to https.
        SECURE_COOKIES="0",
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="0",
        CHAT_LEAVE_GRACE="0.5",
    )
    env.update(extra or {})
    return env


class Topology:
    """N workers (and nginx in front when installed) sharing one database and one Redis."""

    def __init__(self, *, database_url, redis_url, workers=2, worker_ports=None, nginx_port=None,
                 use_nginx=True, run_dir=None, env=None, tls=False):
        self.run_dir = Path(run_dir or tempfile.mkdtemp(prefix="chatsite-loopback-"))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # nginx's workers run as nobody when the master is root: they must reach the static files.
        self.run_dir.chmod(0o755)
        (self.run_dir / "logs").mkdir(exist_ok=True)
        self.static_root = self.run_dir / "static"
        self.database_url, self.redis_url = database_url, redis_url
        self.env = loopback_env(database_url=database_url, redis_url=redis_url,
                                static_root=self.static_root, extra=env)
        worker_ports = list(worker_ports or ports.free_ports(ports.LOOPBACK, workers, taken={nginx_port}))
        self.workers = [Worker(i, port, env=self.env, log_dir=self.run_dir / "logs")
                        for i, port in enumerate(worker_ports)]
        self.nginx = None
        if use_nginx and NGINX:
            nginx_port = nginx_port or ports.free_port(ports.LOOPBACK, taken=worker_ports)
            self.nginx = Nginx(nginx_port, worker_ports, static_root=self.static_root, run_dir=self.run_dir, tls=tls)

    def manage(self, *args, check=True, **kwargs):
        return subprocess.run([venv_python(), "manage.py", *args], cwd=BASE_DIR, env=self.env,
                              check=check, capture_output=True, text=True, **kwargs)

    def prepare(self):
        """What a deploy runs once before starting workers: migrate and collectstatic."""
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")
        self.static_root.chmod(0o755)

    def start(self):
        for worker in self.workers:
            worker.start()
        if self.nginx:
            self.nginx.start()
        return self

    def stop(self):
        if self.nginx:
            self.nginx.stop()
        for worker in self.workers:
            worker.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        """Where a browser goes: nginx, or the first worker when nginx is not installed."""
        return self.nginx.url if self.nginx else self.workers[0].url

    def logs(self, lines=30):
        parts = [f"--- {p.name} ---\n{p.log_tail(lines)}" for p in [*self.workers, self.nginx] if p]
        return "\n".join(parts)


# ---- command line ----

def _read_env_file(path):
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def _up(args):
    extra = _read_env_file(args.env_file) if args.env_file else {}
    database_url = args.database_url or extra.pop("DATABASE_URL", None) or \
        "postgres://postgres@127.0.0.1:5432/chatsite_loopback"
    redis_url = args.redis_url or extra.pop("REDIS_URL", None) or "redis://127.0.0.1:6379/2"
    database_create(database_url)
    ports = [int(p) for p in args.worker_ports.split(",")] if args.worker_ports else None
    topology = Topology(database_url=database_url, redis_url=redis_url, workers=args.workers,
                        worker_ports=ports, nginx_port=args.nginx_port, use_nginx=not args.no_nginx,
                        run_dir=args.run_dir, env=extra, tls=args.tls)
    topology.prepare()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        topology.start()
        print(f"chatsite on {topology.url}  (run dir {topology.run_dir})", flush=True)
        for worker in topology.workers:
            print(f"  worker {worker.index}: {worker.url}  pid {worker.popen.pid}", flush=True)
        while not stopping:
            for process in [*topology.workers, topology.nginx]:
                if process and not process.running:
                    print(f"{process.name} exited; see {process.log_path}", flush=True)
                    stopping.append(1)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        topology.stop()
        print("stopped", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="migrate, collectstatic, start workers and nginx; Ctrl-C stops all")
    up.add_argument("--workers", type=int, default=2)
    up.add_argument("--worker-ports", help="comma-separated, e.g. 18211,18212 (default: free ports)")
    up.add_argument("--nginx-port", type=int, default=18200)
    up.add_argument("--no-nginx", action="store_true")
    up.add_argument("--tls", action="store_true", help="nginx on https with a self-signed certificate")
    up.add_argument("--database-url")
    up.add_argument("--redis-url")
    up.add_argument("--env-file", help="KEY=VALUE lines added to the workers' environment")
    up.add_argument("--run-dir", help="logs, nginx prefix and static files (default: a new temp dir)")
    up.set_defaults(run=_up)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
