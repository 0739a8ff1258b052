"""The one command: start each system pinned to core 0, drive it from core 1, write the figures.

    .venv/bin/python -m bench                 # full run: load sweep, idle, history -> docs/benchmarks.md
    .venv/bin/python -m bench --smoke         # a few seconds; CI keeps the harness working with it

Every system of a load level is measured in the same invocation, one after the other, each on a
fresh server and a fresh database, so that the figures compare systems under the same machine
noise. Rows go to bench/results/<stamp>.jsonl (one JSON object a line).
"""
import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import servers

ROOT = servers.ROOT
RESULTS = ROOT / "bench" / "results"
DEFAULT_SYSTEMS = ["chatsite", "tutorial", "flask-socketio", "ws-relay"]


def loadgen_cmd(module, core):
    return servers.pin_prefix(core) + [sys.executable, "-m", module]


def run_loadgen(server, args, extra, timeout):
    spec = servers.SYSTEMS[server.name]
    cmd = loadgen_cmd("bench.loadgen", args.load_core) + [
        "--system", spec["client"],
        "--ports", ",".join(map(str, server.ports)),
        "--server-pids", ",".join(map(str, server.pids)),
        "--extra-pids", ",".join(map(str, server.extra_pids)),
    ] + (["--server-core", str(args.server_core)] if args.server_core is not None else []) + extra
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"load generator failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def load_point(name, offered, args):
    rate = offered / (args.rooms * args.members * args.members)
    server = servers.start(name, core=args.server_core)
    try:
        row = run_loadgen(server, args, [
            "--rooms", str(args.rooms), "--members", str(args.members), "--rate", f"{rate:g}",
            "--warmup", str(args.warmup), "--duration", str(args.duration), "--drain", str(args.drain),
            "--replies", str(args.replies), "--reactions", str(args.reactions),
        ], timeout=args.connect_timeout + args.warmup + args.duration + args.drain + 120)
        row["replies"], row["reactions"] = args.replies, args.reactions
        row["messages_stored"] = server.stored_messages()
        row["server_alive"] = server.alive()
        if row["connect"]["failed"] or row["closed_sockets"]:
            row["server_log_tail"] = server.log_tail(8)[-1500:]
    finally:
        servers.stop(server)
    return row


def idle_point(name, args):
    server = servers.start(name, core=args.server_core)
    try:
        row = run_loadgen(server, args, [
            "--mode", "idle", "--idle", str(args.idle), "--members", str(args.members),
            "--concurrency", "16", "--connect-timeout", str(args.connect_timeout),
        ], timeout=args.connect_timeout + 300)
    finally:
        servers.stop(server)
    return row


def history_points(args):
    server = servers.start("chatsite", core=args.server_core)
    try:
        cmd = loadgen_cmd("bench.history", args.load_core) + [
            "--port", str(server.ports[0]), "--db", str(server.db_path),
            "--sizes", ",".join(map(str, args.history)), "--repeat", str(args.history_repeat),
        ]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
        rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        if out.returncode != 0 or not rows:
            raise RuntimeError(f"history failed ({out.returncode}):\n{out.stderr[-2000:]}")
    finally:
        servers.stop(server)
    return rows


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "rooms", "chatsite"], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        commit, dirty = "?", False
    return {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "kernel": platform.release(), "loadavg_at_start": os.getloadavg()[0],
        "commit": commit + ("+dirty" if dirty else ""),
    }


def emit(row, out, meta):
    row = {**meta, **row}
    line = json.dumps(row)
    with open(out, "a") as f:
        f.write(line + "\n")
    print(line, flush=True)
    return row


def parse_args(argv):
    p = argparse.ArgumentParser(description="chatsite benchmark beside its baselines")
    p.add_argument("--smoke", action="store_true", help="tiny run for CI: asserts nothing about speed")
    p.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS))
    p.add_argument("--loads", default="2000,6000,10000,20000", help="offered deliveries per second")
    p.add_argument("--rooms", type=int, default=5)
    p.add_argument("--members", type=int, default=20)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=12.0)
    p.add_argument("--drain", type=float, default=20.0)
    p.add_argument("--idle", type=int, default=10000, help="idle connections (0: skip idle mode)")
    p.add_argument("--idle-systems", default=None, help="systems for idle mode (default: --systems)")
    p.add_argument("--history", default="1000,100000,1000000", help="stored messages ('' to skip)")
    p.add_argument("--history-repeat", type=int, default=20)
    p.add_argument("--replies", type=float, default=0.0,
                   help="share of messages that are replies with a mention (chatsite systems; 0.2 for the message-life row)")
    p.add_argument("--reactions", type=float, default=0.0, help="reactions per message (0.1: at 10 %% of the message rate)")
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--load-core", type=int, default=1)
    p.add_argument("--connect-timeout", type=float, default=300.0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--docs", action="store_true", help="rewrite the results part of docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.smoke:
        # The drain ends as soon as every delivery is in: a long one costs nothing on an idle
        # machine, and on a busy one the smoke still counts deliveries instead of giving up.
        args.rooms, args.members, args.warmup, args.duration, args.drain = 2, 3, 0.3, 1.5, 60.0
        args.loads, args.idle, args.history = "36", 0, ""
        args.connect_timeout = 60.0
    args.systems = [s for s in args.systems.split(",") if s]
    args.idle_systems = args.idle_systems.split(",") if args.idle_systems else args.systems
    args.loads = [float(x) for x in args.loads.split(",") if x]
    args.history = [int(x) for x in args.history.split(",") if x]
    if (os.cpu_count() or 1) < 2:
        args.server_core = args.load_core = None
    return args


def _stop_on_term(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # so every server is stopped on the way out


def main(argv=None):
    signal.signal(signal.SIGTERM, _stop_on_term)
    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RESULTS / f"{'smoke' if args.smoke else 'run'}-{stamp}.jsonl"
    meta = {"run": stamp, "machine": machine()}
    systems = [s for s in args.systems if s in servers.SYSTEMS]
    missing = [s for s in systems if not servers.available(s)]
    for name in missing:
        print(f"skipping {name}: its packages, Redis or BENCH_BASE_TREE are missing (pip install -r bench/requirements.txt)",
              file=sys.stderr)
    systems = [s for s in systems if s not in missing]
    rows = []
    cfg = {"rooms": args.rooms, "members": args.members, "duration_s": args.duration, "warmup_s": args.warmup}
    for offered in args.loads:
        for name in systems:
            t0 = time.monotonic()
            try:
                row = load_point(name, offered, args)
            except Exception as exc:  # one broken system must not hide the others' figures
                row = {"mode": "load", "offered_per_s": offered, "failed": str(exc)[-1500:]}
            row.update(system=name, about=servers.SYSTEMS[name]["about"], wall_s=round(time.monotonic() - t0, 1), **cfg)
            rows.append(emit(row, out, meta))
    if args.idle:
        for name in [s for s in args.idle_systems if s in systems]:
            try:
                row = idle_point(name, args)
            except Exception as exc:
                row = {"mode": "idle", "failed": str(exc)[-1500:]}
            row.update(system=name, about=servers.SYSTEMS[name]["about"])
            rows.append(emit(row, out, meta))
    if args.history:
        try:
            for row in history_points(args):
                rows.append(emit({**row, "system": "chatsite"}, out, meta))
        except Exception as exc:
            rows.append(emit({"mode": "history", "system": "chatsite", "failed": str(exc)[-1500:]}, out, meta))
    print(f"rows written to {out}", file=sys.stderr)
    if args.docs:
        from bench import report

        report.write_docs(rows, argv_used=" ".join(sys.argv[1:]) if argv is None else " ".join(argv))
    return rows


if __name__ == "__main__":
    main()
