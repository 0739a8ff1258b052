"""Profile one system under load with py-spy: where the server's CPU goes.

    .venv/bin/python -m bench.profile --system chatsite --offered 2000

Starts the system pinned like bench.run, drives it with the load generator, records the server
with `py-spy record --gil` (only the thread holding the GIL: where the one core's time goes)
through the steady window, and prints the functions with the largest
inclusive share of the samples, plus the share of each part of the stack (layer, transport,
thread hops, ORM, JSON, ...). The raw collapsed stacks are kept in bench/results/ for a flame
graph (`py-spy record --format flamegraph` renders the same data as SVG).
"""
import argparse
import collections
import datetime
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import servers
from bench.run import RESULTS, run_loadgen
from bench.run import parse_args as run_args

# Parts of the stack. Walking a sample from its leaf towards the root, the first frame that
# matches one of these names the part; asyncio, threading and other library frames in between
# are charged to the caller that used them (a Queue.put inside the layer is the layer's cost).
PARTS = [
    ("channel layer", re.compile(r"channels/layers\.py|channels_redis/|chatsite/layers\.py|/redis/")),
    ("ORM and SQLite", re.compile(r"django/db/|sqlite3")),
    ("thread hops (asgiref, executor)", re.compile(r"asgiref/|concurrent/futures|channels/db\.py")),
    ("JSON", re.compile(r"/json/")),
    ("daphne, Twisted, autobahn (transport)", re.compile(r"daphne/|twisted/|autobahn/|txaio/|chatsite/serve\.py")),
    ("chatsite code", re.compile(r"/rooms/|chatsite/")),
    ("channels consumer, routing, middleware", re.compile(r"channels/")),
    ("Django (settings, sessions, other)", re.compile(r"django/")),
]
# Reaching the loop's own frames first means the time went to the loop itself (select, wake-ups).
LOOP = re.compile(r"\((asyncio/base_events|asyncio/events|selectors)\.py")
LINE = re.compile(r":\d+\)$")


def frames(line):
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


def part_of(stack):
    for frame in reversed(stack):
        for label, pattern in PARTS:
            if pattern.search(frame):
                return label
        if LOOP.search(frame):
            return "asyncio event loop (select, scheduling)"
    return "other"


def summarize(raw_lines, top=30):
    total = 0
    inclusive = collections.Counter()
    parts = collections.Counter()
    leaf = collections.Counter()
    for line in raw_lines:
        if not line.strip():
            continue
        stack, count = frames(line)
        total += count
        for name in {LINE.sub(")", frame) for frame in stack}:
            inclusive[name] += count
        leaf[LINE.sub(")", stack[-1])] += count
        parts[part_of(stack)] += count
    if not total:
        return "no samples"
    out = [f"samples: {total}", "", "share by part of the stack (leaf-most owner):"]
    out += [f"  {100 * n / total:5.1f} %  {label}" for label, n in parts.most_common()]
    out += ["", f"top {top} functions by inclusive share:"]
    out += [f"  {100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(top)]
    out += ["", "top 20 leaf functions (self time):"]
    out += [f"  {100 * n / total:5.1f} %  {name}" for name, n in leaf.most_common(20)]
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--summarize", type=Path, default=None, help="only summarize a kept raw file")
    p.add_argument("--system", default="chatsite")
    p.add_argument("--offered", type=float, default=2000)
    p.add_argument("--duration", type=float, default=12)
    p.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    own = p.parse_args()
    if own.summarize:
        print(summarize(own.summarize.read_text().splitlines(), top=60))
        return
    pyspy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not pyspy:
        sys.exit("py-spy is not installed: pip install -r bench/requirements.txt")
    args = run_args(["--duration", str(own.duration)])
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = RESULTS / f"profile-{own.system}-{int(own.offered)}-{stamp}.txt"
    server = servers.start(own.system, core=args.server_core)
    spies = []
    try:
        steady = RESULTS / f"{raw.name}.steady"

        def spy():
            # Start with the steady window: connect, join and warm-up are not what we look at.
            deadline = time.monotonic() + 300
            while not steady.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            steady.unlink(missing_ok=True)
            for i, pid in enumerate(server.pids):
                spies.append(subprocess.Popen(
                    [pyspy, "record", "--pid", str(pid), "--rate", str(own.rate), "--duration",
                     str(int(own.duration - 1)), "--format", "raw", "--gil", "-o", f"{raw}.{i}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        rate = own.offered / (args.rooms * args.members * args.members)
        starter = threading.Timer(0, spy)
        starter.start()
        row = run_loadgen(server, args, ["--rooms", str(args.rooms), "--members", str(args.members),
                                         "--rate", f"{rate:g}", "--warmup", str(args.warmup), "--steady-file", str(steady),
                                         "--duration", str(own.duration), "--drain", "10"], timeout=600)
        for spy_proc in spies:
            spy_proc.wait(60)
    finally:
        for spy_proc in spies:
            if spy_proc.poll() is None:
                spy_proc.terminate()
        servers.stop(server)
    lines = []
    for part in sorted(RESULTS.glob(raw.name + ".*")):
        lines += part.read_text().splitlines()
        part.unlink()
    raw.write_text("\n".join(lines) + "\n")
    print(f"{own.system} at {own.offered:,.0f} offered/s: delivered {row['delivered_per_s']:,.0f}/s, "
          f"CPU {row['server_cpu_us_per_delivery']} µs/delivery, p99 {row['latency_ms']['p99']} ms, "
          f"lost {row['lost']}; others on the server core {row.get('server_core_others')}")
    print(summarize(lines))
    print(f"\nraw stacks: {raw}")


if __name__ == "__main__":
    main()
