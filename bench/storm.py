"""The restart storm: N known clients open their sockets at the same instant, as after a deploy.

    .venv/bin/python -m bench.storm --systems chatsite,ws-relay,tutorial --clients 1000,2000,5000,10000
    .venv/bin/python -m bench.storm --systems chatsite-nginx --clients 1000,2000   # 2 workers, nginx, PostgreSQL, Redis
    .venv/bin/python -m bench.storm --docs FILE...   # redraw the table and plot in docs/benchmarks.md

For chatsite the N clients are known people: each came through the real page flow once (the
home form with a name, so its identity has a row and a cookie), from a loopback address of its
own group of 20 (127.x.y.z), so the per-address limits, left at their production defaults, are
not what refuses them. They sit in rooms of --per-room (50). A few talkers, connected before the
storm, send one message a second each throughout. Then all N open `/ws/rooms/<CODE>/?after=<seq>`
at once and retry as the room page does: full-jitter exponential backoff (0-1 s, 0-2 s, ... up
to 10 s), no sooner than a `retry_after_ms` the server gave. A client is back at its `hello`
(for the relay and the tutorial, which say nothing, at the upgrade).

Reported per (system, N): seconds until all N are back, how many are back at 5, 10 and 30 s,
p50 and p99 time to back, refusals by kind and attempts, the talkers' own message latency during
the storm, for chatsite the talkers' messages each back client lost or got twice (between its
`after` and the end), and the server's CPU seconds (its whole process tree; for chatsite-nginx the
workers, nginx and a private Redis, not the shared PostgreSQL). The server runs pinned to core 0,
this process to core 1. Bounded: --deadline seconds (60) per storm.
"""
import argparse
import asyncio
import datetime
import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench import ports, procstat, servers
from bench.pageflow import Browser
from bench.wsclient import HandshakeError, ws_connect

ROOT = servers.ROOT
RESULTS = ROOT / "bench" / "results"
PER_ADDRESS = 20  # simulated people per loopback address (the socket limit is 30 per address)
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 10.0
TALKERS = 5
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def source(i, base=1):
    """A loopback address of its own for each group of PER_ADDRESS people."""
    group = i // PER_ADDRESS
    return f"127.{base + group // 62500}.{(group // 250) % 250 + 1}.{group % 250 + 1}"


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))] if values else None


class Target:
    """Where the clients go and how a system is entered."""

    def __init__(self, name, host, port, pids, known_people):
        self.name, self.host, self.port, self.pids = name, host, port, pids
        self.known_people = known_people  # chatsite: identities and ?after=; others: a bare socket

    def base_url(self):
        return f"http://{self.host}:{self.port}"

    def path(self, room, after):
        if self.name == "tutorial":
            return f"/ws/chat/{room}/"
        if not self.known_people:
            return f"/ws/rooms/{room}/"
        return f"/ws/rooms/{room}/?after={after}"


# ---------------------------------------------------------------- preparation

async def prepare(target, n, per_room):
    """People: (room, browser or None) for each of the n clients, rooms' seqs, and the room list."""
    rooms = max(1, math.ceil(n / per_room))
    if not target.known_people:
        return [(f"R{i % rooms}", None) for i in range(n)], [f"R{r}" for r in range(rooms)]
    limit = asyncio.Semaphore(24)

    async def enter(i, **form):
        async with limit:
            browser = Browser(target.base_url(), source=source(i, base=200))
            for attempt in range(5):
                try:
                    return browser, await browser.enter(page=False, **form)
                except (OSError, TimeoutError) as exc:
                    if attempt == 4:
                        raise RuntimeError(f"could not enter person {i}: {exc!r}") from exc
                    await asyncio.sleep(0.5 * (attempt + 1))

    hosts = await asyncio.gather(*(enter(r * PER_ADDRESS, name=f"Host {r}", action="create") for r in range(rooms)))
    codes = [code for _, code in hosts]
    people = await asyncio.gather(*(enter(i, name=f"Person {i}", action="join", code=codes[i % rooms])
                                    for i in range(n)))
    return [(codes[i % rooms], browser) for i, (browser, _) in enumerate(people)], codes


# ---------------------------------------------------------------- talkers

class Talker:
    """A member connected before the storm who sends once a second and times its own echoes."""

    def __init__(self, target, room, index):
        self.target, self.room, self.index = target, room, index
        self.sent = {}  # client_id -> send time
        self.latencies = []
        self.seqs = {}  # client_id -> seq, from the echo
        self.client = None
        self.seq = 0

    def on_frame(self, client, payload, at_us):
        try:
            frame = json.loads(payload)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        if frame.get("type") == "hello":
            self.seq = frame["room"]["seq"]
            if not client.ready.done():
                client.ready.set_result(True)
        elif frame.get("type") == "message" or "message" in frame:  # chatsite and the relay; the tutorial
            cid = frame.get("client_id") or frame.get("message")
            if cid in self.sent and cid not in self.seqs:
                self.latencies.append(time.monotonic() - self.sent[cid])
                self.seqs[cid] = frame.get("seq")

    async def connect(self):
        if self.target.known_people:
            browser = Browser(self.target.base_url(), source=f"127.250.0.{self.index + 1}")
            await browser.enter(name=f"Talker {self.index}", action="join", code=self.room, page=False)
            self.client = await browser.ws_connect(self.target.path(self.room, 0), self.on_frame, lambda c: None)
            await asyncio.wait_for(self.client.ready, 30)
        else:
            headers = {"Origin": self.target.base_url()}
            self.client = await ws_connect(self.target.host, self.target.port, self.target.path(self.room, 0), headers,
                                           self.on_frame, lambda c: None, source=f"127.250.0.{self.index + 1}")

    async def talk(self, stop):
        n = 0
        while not stop.is_set():
            cid = f"talk-{self.index}-{n}"
            self.sent[cid] = time.monotonic()
            if self.target.name == "tutorial":
                self.client.send_text(json.dumps({"message": cid}))
            else:
                self.client.send_text(json.dumps({"type": "message", "body": f"talker {self.index} says {n}",
                                                  "client_id": cid}))
            n += 1
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass


# ---------------------------------------------------------------- the storm

class StormClient:
    def __init__(self, index, room, browser, target, after):
        self.index, self.room, self.browser, self.target, self.after = index, room, browser, target, after
        self.back_at = None
        self.attempts = 0
        self.seqs = []  # seqs of message frames seen (hello's changes and live), with repeats
        self.client = None
        self.retry_after = 0.0

    def on_frame(self, client, payload, at_us):
        if not self.target.known_people:
            return
        if payload.startswith(b'{"type":"message"'):
            self.seqs.append(json.loads(payload)["seq"])
        elif payload.startswith(b'{"type":"hello"'):
            hello = json.loads(payload)
            self.seqs.extend(m["seq"] for m in hello["messages"] if m.get("type") == "message")
            if not client.ready.done():
                client.ready.set_result(True)
        elif payload.startswith(b'{"type":"error"'):
            error = json.loads(payload)
            client.extra["refusal"] = f"{error.get('code')}"
            self.retry_after = max(self.retry_after, error.get("retry_after_ms", 0) / 1000)

    async def run(self, t0, refusals, deadline):
        while time.monotonic() < deadline:
            self.attempts += 1
            kind = None
            try:
                if self.browser is not None:
                    client = await self.browser.ws_connect(self.target.path(self.room, self.after), self.on_frame,
                                                           lambda c: None, timeout=30)
                else:
                    client = await ws_connect(self.target.host, self.target.port, self.target.path(self.room, 0),
                                              {"Origin": self.target.base_url()}, self.on_frame, lambda c: None,
                                              timeout=30, source=source(self.index))
                if self.target.known_people:
                    done, _ = await asyncio.wait({client.ready, client.lost}, timeout=max(1, deadline - time.monotonic()),
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if client.ready.done() and not client.ready.exception():
                        self.back_at = time.monotonic() - t0
                        self.client = client
                        return
                    kind = f"{client.extra.get('refusal', 'closed')}/{client.close_code or 1006}"
                    client.transport.close()
                else:
                    self.back_at = time.monotonic() - t0
                    self.client = client
                    return
            except HandshakeError as exc:
                kind = f"http {exc.status}"
            except (OSError, TimeoutError) as exc:
                kind = type(exc).__name__
            refusals[kind] = refusals.get(kind, 0) + 1
            ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self.attempts - 1))
            await asyncio.sleep(max(random.random() * ceiling, self.retry_after))
            self.retry_after = 0.0


async def storm(target, n, per_room, deadline_s, profile=None):
    people, codes = await prepare(target, n, per_room)
    talkers = [Talker(target, codes[t % len(codes)], t) for t in range(min(TALKERS, len(codes)))]
    for talker in talkers:
        await talker.connect()
    stop = asyncio.Event()
    talking = [asyncio.create_task(t.talk(stop)) for t in talkers]
    await asyncio.sleep(2.5)  # some messages before the storm, so ?after= has something to bring
    seq_of_room = {t.room: max([t.seq, *[s for s in t.seqs.values() if s]]) for t in talkers}
    clients = [StormClient(i, room, browser, target, seq_of_room.get(room, 0) - 1 if room in seq_of_room else 0)
               for i, (room, browser) in enumerate(people)]
    refusals = {}
    cpu0, own0 = procstat.cpu_seconds(procstat.tree(target.pids)), time.process_time()
    latency_from = len([lat for t in talkers for lat in t.latencies])
    spy = None
    if profile:  # py-spy on the server for the storm (bench/requirements.txt), raw stacks for bench.profile
        import subprocess

        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(target.pids[0]),
                                "-d", str(int(deadline_s)), "-r", "100", "-f", "raw", "-o", profile],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await asyncio.sleep(1.0)
    t0 = time.monotonic()
    deadline = t0 + deadline_s
    tasks = [asyncio.create_task(c.run(t0, refusals, deadline)) for c in clients]
    while time.monotonic() < deadline and not all(task.done() for task in tasks):
        await asyncio.sleep(0.1)
    storm_s = time.monotonic() - t0
    cpu = procstat.cpu_seconds(procstat.tree(target.pids)) - cpu0
    own_cpu = time.process_time() - own0
    if spy is not None:
        spy.send_signal(2)  # SIGINT: py-spy writes what it has
        spy.wait(timeout=30)
    await asyncio.sleep(2.0)  # messages in flight when the last came back
    stop.set()
    await asyncio.gather(*talking)
    await asyncio.sleep(1.5)
    for task in tasks:
        task.cancel()
    back = sorted(c.back_at for c in clients if c.back_at is not None)
    storm_latencies = [lat for t in talkers for lat in t.latencies][latency_from:]
    lost = doubled = 0
    if target.known_people:
        sent_by_room = {}
        for t in talkers:
            sent_by_room.setdefault(t.room, set()).update(s for s in t.seqs.values() if s)
        for c in clients:
            if c.back_at is None or c.room not in sent_by_room:
                continue
            expected = {s for s in sent_by_room[c.room] if s > c.after}
            got = [s for s in c.seqs if s in sent_by_room[c.room]]
            lost += len(expected - set(got))
            doubled += len(got) - len(set(got))
    for c in clients:
        if c.client is not None:
            c.client.transport.close()
    for t in talkers:
        t.client.transport.close()
    return {
        "system": target.name, "clients": n, "rooms": len(codes), "per_room": per_room,
        "all_back_s": round(back[-1], 2) if len(back) == n else None,
        "back_at": {f"{s}s": sum(1 for b in back if b <= s) for s in (5, 10, 30)},
        "back_total": len(back),
        "to_back_s": {"p50": _r(percentile(back, 50)), "p99": _r(percentile(back, 99))},
        "attempts": sum(c.attempts for c in clients), "refusals": refusals,
        "lost": lost if target.known_people else None, "doubled": doubled if target.known_people else None,
        "talker_latency_ms": {"p50": _r(percentile(storm_latencies, 50), 1000), "p99": _r(percentile(storm_latencies, 99), 1000),
                              "count": len(storm_latencies)},
        "server_cpu_s": round(cpu, 2), "storm_window_s": round(storm_s, 2), "storm_client_cpu_s": round(own_cpu, 2),
    }


def _r(value, scale=1):
    return None if value is None else round(value * scale, 2 if scale == 1 else 1)


# ---------------------------------------------------------------- systems

STORM_ENV = {  # chatsite with its production per-address defences: only the rate limit is off for the talkers' pace
    "CHAT_WS_PER_ADDRESS": "30", "CHAT_FLOOD_LIMIT": "100/10", "CHAT_CODE_GUESS_LIMIT": "20/300",
    "CHAT_ROOM_CREATE_LIMIT": "10/600",
}


class Started:
    def __init__(self, target, stop):
        self.target, self.stop = target, stop


def start(system, core):
    if system in ("chatsite", "chatsite-uvicorn", "chatsite-base"):
        server = servers.start(system, core=core, extra_env=STORM_ENV)
        keep = bool(os.environ.get("BENCH_KEEP"))  # keep the server's files (its log) to look at
        if keep:
            print(f"server files in {server.workdir}", file=sys.stderr)
        return Started(Target(system, "127.0.0.1", server.ports[0], server.pids, True),
                       lambda: servers.stop(server, keep=keep))
    if system in ("ws-relay", "tutorial"):
        server = servers.start(system, core=core)
        return Started(Target(system, "127.0.0.1", server.ports[0], server.pids, False), lambda: servers.stop(server))
    if system == "chatsite-nginx":
        return _nginx_topology(core)
    raise SystemExit(f"unknown system {system!r}")


def _nginx_topology(core):
    import tempfile

    from bench import loopback

    redis = loopback.RedisServer(ports.free_port(ports.LOOPBACK), log_dir=tempfile.mkdtemp(prefix="storm-redis-")).start()
    database = POSTGRES_URL.rsplit("/", 1)[0] + f"/chatsite_storm_{os.getpid()}"
    loopback.database_create(database, fresh=True)
    topology = loopback.Topology(database_url=database, redis_url=redis.url, env={**STORM_ENV, "CHAT_RATE_LIMIT": "off"})
    topology.prepare()
    topology.start()
    pids = [p.popen.pid for p in [*topology.workers, topology.nginx, redis]]
    for pid in procstat.tree(pids):  # taskset takes one process at a time
        subprocess.run(["taskset", "-a", "-p", "-c", str(core), str(pid)], stdout=subprocess.DEVNULL, check=False)
    port = int(topology.url.rsplit(":", 1)[1])

    def stop():
        topology.stop()
        redis.stop()
        loopback.database_drop(database)

    return Started(Target("chatsite-nginx", "127.0.0.1", port, pids, True), stop)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default="chatsite,ws-relay,tutorial")
    parser.add_argument("--clients", default="1000,2000")
    parser.add_argument("--per-room", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument("--out", default=None)
    parser.add_argument("--profile", default=None, help="py-spy raw stacks of the server during the storm, to this file")
    parser.add_argument("--docs", nargs="*", help="redraw docs/benchmarks.md's storm section from these result files")
    args = parser.parse_args(argv)
    if args.docs is not None:
        from bench import report

        rows = [json.loads(line) for path in args.docs for line in Path(path).read_text().splitlines() if line.strip()]
        report.write_storm(rows)
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(args.out or RESULTS / f"storm-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}.jsonl")
    for system in args.systems.split(","):
        for n in [int(x) for x in args.clients.split(",")]:
            started = start(system, args.server_core)
            os.sched_setaffinity(0, {args.load_core})
            try:
                row = asyncio.run(storm(started.target, n, args.per_room, args.deadline, args.profile))
            finally:
                started.stop()
                os.sched_setaffinity(0, set(range(os.cpu_count())))
            row["at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            print(json.dumps(row), flush=True)
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
    print(f"rows in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
