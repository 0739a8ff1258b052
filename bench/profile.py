"""Profile one system under load with py-spy: where the server's CPU goes.

    .venv/bin/python -m bench.profile --system chatsite --offered 2000

Starts the system pinned like bench.run, drives it with the load generator, records the server
with `py-spy record` through the steady window, and prints the functions with the largest
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

from bench import servers
from bench.run import RESULTS, run_loadgen
from bench.run import parse_args as run_args

# Parts of the stack, tried from the leaf up: a sample counts for the first part that matches.
PARTS = [
    ("channel layer", re.compile(r"channels/layers\.py|channels_redis/|chatsite/layers\.py|redis/")),
    ("ORM and SQLite", re.compile(r"django/db/|sqlite3")),
    ("thread hops (asgiref, executor)", re.compile(r"asgiref/sync\.py|concurrent/futures|threading\.py")),
    ("JSON", re.compile(r"json/")),
    ("chatsite code", re.compile(r"/rooms/|chatsite/")),
    ("channels consumer, routing, middleware", re.compile(r"channels/")),
    ("daphne, Twisted, autobahn (transport)", re.compile(r"daphne/|twisted/|autobahn/|txaio/")),
    ("asyncio event loop", re.compile(r"asyncio/")),
]


def frames(line):
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


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
        for name in set(stack):
            inclusive[name] += count
        leaf[stack[-1]] += count
        for frame in reversed(stack):
            part = next((label for label, pattern in PARTS if pattern.search(frame)), None)
            if part:
                parts[part] += count
                break
        else:
            parts["other"] += count
    out = [f"samples: {total}", "", "share by part of the stack (leaf-most match):"]
    out += [f"  {100 * n / total:5.1f} %  {label}" for label, n in parts.most_common()]
    out += ["", f"top {top} functions by inclusive share:"]
    out += [f"  {100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(top)]
    out += ["", "top 20 leaf functions (self time):"]
    out += [f"  {100 * n / total:5.1f} %  {name}" for name, n in leaf.most_common(20)]
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", default="chatsite")
    p.add_argument("--offered", type=float, default=2000)
    p.add_argument("--duration", type=float, default=12)
    p.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    own = p.parse_args()
    if not shutil.which("py-spy"):
        sys.exit("py-spy is not installed: pip install -r bench/requirements.txt")
    args = run_args(["--duration", str(own.duration)])
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = RESULTS / f"profile-{own.system}-{int(own.offered)}-{stamp}.txt"
    server = servers.start(own.system, core=args.server_core)
    spies = []
    try:
        def spy():
            # Start with the steady window: connect, join and warm-up are not what we look at.
            time.sleep(1.5 + args.warmup + 1.0)
            for i, pid in enumerate(server.pids):
                spies.append(subprocess.Popen(
                    ["py-spy", "record", "--pid", str(pid), "--rate", str(own.rate), "--duration",
                     str(int(own.duration - 1)), "--format", "raw", "--subprocesses", "-o", f"{raw}.{i}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        rate = own.offered / (args.rooms * args.members * args.members)
        starter = threading.Timer(0, spy)
        starter.start()
        row = run_loadgen(server, args, ["--rooms", str(args.rooms), "--members", str(args.members),
                                         "--rate", f"{rate:g}", "--warmup", str(args.warmup),
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
