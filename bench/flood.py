"""One connection floods a room: what the other members' latency does, on the real server.

    .venv/bin/python -m bench.flood [--duration 10] [--flood-rate 5000] [--json OUT]
    .venv/bin/python -m bench.flood --smoke      # a few seconds; tests/test_bench_flood_smoke.py runs it

Issue #5 asks that one connection sending thousands of frames a second be throttled (and closed
after sustained abuse) while the others in its room still get their messages quickly. The tests
(tests/hardening/test_socket_guards.py) show the throttling and the close; this measures the
others' latency while it happens.

Two phases in one invocation, each on a fresh server and a fresh database:

- `baseline`: one room of --members (20) normal members, each sending 1 message a second with
  a timestamp in its body, exactly as the load benchmark does (bench/loadgen.py with
  bench/pageflow.py: home page, form, session cookie, room page, socket; latency = receipt - the
  send time in the body).
- `flood`: the same, plus one more member of the same room (same real flow) that, from the start
  of the steady window, sends message frames at --flood-rate a second for at most --duration
  seconds, ignoring the server's `rate_limited` errors like an attacker, until the server closes
  it. With --reconnect it opens its socket again (same cookie) after each close, as a stubborn
  attacker would, until the window ends.

Measured for the normal members only: deliveries expected/received, lost, latency p50/p90/p99/max,
server CPU over the window (bench/procstat.py), whether the server stayed alive; for the flooder:
frames written, `rate_limited` errors received on its open sockets (refusals of a reconnect by the
per-address limit are counted apart), flood messages the server let through (stored), when
(seconds after the flood began) and with which close code the server closed it. The flood row
carries the ratios to the baseline (`vs_baseline`); no absolute threshold is applied here.

The server is chatsite as bench/servers.py starts the `chatsite` system (`python -m chatsite.serve`,
in-memory layer, SQLite, DEBUG=0, pinned to core 0; this load generator pinned to core 1) but
with the abuse defences ON: the variables the normal benchmark sets to switch them off
(CHAT_RATE_LIMIT=off, CHAT_WS_PER_ADDRESS=0, CHAT_FLOOD_LIMIT=off, CHAT_CODE_GUESS_LIMIT=off)
are removed from the server's environment, so chatsite/settings.py's production defaults apply
(at the time of writing: 20 messages/10 s per socket, 100 frames/10 s per socket before the close,
30 sockets per address, 20 wrong room codes/300 s per address). Every member connects from
127.0.0.1, so the one per-address limit that could refuse the normal members is the socket count:
it is raised to --members + 1 only if the default is below that, and the row says so under
`settings_changed`; with 20 members (+ the flooder) and the default of 30, nothing is changed.
The effective limits are read from the server's settings and reported under `limits`. With
--reconnect the flooder shares its address's socket count with the members, so it has the slots
they leave (10 by default), where an attacker on an address of its own would have all 30.

Rows go to bench/results/flood-<stamp>.jsonl (or --json OUT), one JSON object per phase.
"""
import argparse
import asyncio
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import servers
from bench.run import _stop_on_term

ROOT = servers.ROOT
RESULTS = ROOT / "bench" / "results"
SYSTEM = "chatsite-defended"
MAX_CLOSES_LISTED = 20
# What bench/servers.py sets to switch chatsite's abuse defences off for the load benchmark.
DEFENCES_OFF = ("CHAT_RATE_LIMIT", "CHAT_WS_PER_ADDRESS", "CHAT_FLOOD_LIMIT", "CHAT_CODE_GUESS_LIMIT")
LIMIT_SETTINGS = DEFENCES_OFF + ("CHAT_TYPING_RATE_LIMIT", "CHAT_FRAME_MAX_BYTES", "CHAT_SEND_BUFFER_BYTES")


# ---------------------------------------------------------------- the server, defences on

def _defended_env(workdir, extra=None):
    env = servers._django_env(workdir, extra)
    for key in DEFENCES_OFF:
        if key not in (extra or {}):
            env.pop(key, None)
    return env


def _start_defended(server, core, extra=None):
    """As servers._chatsite, with the production abuse limits (see the module docstring)."""
    env = _defended_env(server.workdir, extra)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=120)
    cmd = [sys.executable, "-m", "chatsite.serve", "-b", "127.0.0.1", "-p", str(server.ports[0])]
    servers._spawn(server, cmd, env, ROOT, core, "daphne0")


def effective_limits(extra=None):
    """The limit settings the server will run with, read from chatsite's settings in its environment."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-flood-settings-") as tmp:
        env = _defended_env(Path(tmp), extra)
        env["DJANGO_SETTINGS_MODULE"] = "chatsite.settings"
        code = ("import json; from django.conf import settings as s; "
                f"print(json.dumps({{k: getattr(s, k) for k in {list(LIMIT_SETTINGS)!r}}}))")
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def register(extra_env):
    servers.SYSTEMS[SYSTEM] = dict(
        about="chatsite on daphne (python -m chatsite.serve), in-memory layer, SQLite, abuse defences on",
        client="chatsite", ports=1,
        start=lambda s, core: _start_defended(s, core, extra_env),
    )


# ---------------------------------------------------------------- the flooder (load generator side)

def flooder(args):
    """The `during` hook of loadgen.run_load: one more member of the room, flooding it."""
    from bench import pageflow

    async def during(system, clients, steady_start, steady_end):
        report = {
            "flood_rate_per_s": args.flood_rate, "reconnect": args.reconnect,
            "frames_sent": 0, "frames_sent_before_first_close": None,
            "rate_limited_errors": 0, "errors": {}, "last_error_detail": None,
            "accepted_messages_echoed": 0,
            "first_close_after_s": None, "first_close_code": None,
            "closes_total": 0, "close_codes": {}, "closes": [],  # closes: the first MAX_CLOSES_LISTED
            "connects": 0, "connects_refused": 0, "refusal_errors": 0, "connect_failures": [],
            "open_at_end": False, "blocked_writes": 0, "flood_s": None,
        }
        code = next((c.extra.get("room_code") for c in clients if c is not None), None)
        if code is None:
            report["connect_failures"].append("no normal member got in: no room to flood")
            return report
        port = system.port_for(0)
        browser = pageflow.Browser(f"http://{args.host}:{port}", user_agent="chatsite-bench")
        state = {"t0": None}

        def on_frame(client, payload, at_us):
            if payload.startswith(b'{"type":"error"'):
                frame = json.loads(payload)
                c = frame.get("code", "?")
                report["errors"][c] = report["errors"].get(c, 0) + 1
                if not client.ready.done():
                    report["refusal_errors"] += 1  # refused before its hello (per-address limits)
                elif c == "rate_limited":
                    report["rate_limited_errors"] += 1  # on an open socket: rate limit, then flood close
                report["last_error_detail"] = frame.get("detail")
            elif payload.startswith(b'{"type":"hello"'):
                if not client.ready.done():
                    client.ready.set_result(True)
            elif payload.startswith(b'{"type":"message"') and b'"client_id":"f-' in payload:
                report["accepted_messages_echoed"] += 1

        def on_close(client):
            client.extra["closed_at"] = time.perf_counter()

        def closed(entry):
            report["closes_total"] += 1
            key = str(entry["code"])
            report["close_codes"][key] = report["close_codes"].get(key, 0) + 1
            if len(report["closes"]) < MAX_CLOSES_LISTED:
                report["closes"].append(entry)

        async def connect(enter):
            try:
                if enter:
                    _, state["path"] = await system.enter(browser, 0, code, "flooder")
                client = await browser.ws_connect(state["path"], on_frame, on_close)
                report["connects"] += 1
                ready = asyncio.ensure_future(client.ready)
                await asyncio.wait([ready], timeout=10)
                if ready.done() and not ready.exception():
                    return client
                report["connects_refused"] += 1  # closed before its hello (e.g. 4429: too many sockets)
                closed({"at_s": _since(state["t0"]), "code": client.close_code, "before_hello": True})
                client.close()
            except Exception as exc:
                report["connect_failures"].append(f"{type(exc).__name__}: {exc}"[:200])
            return None

        client = await connect(enter=True)  # during the warm-up, before the window opens
        await asyncio.sleep(max(0, steady_start - time.perf_counter()))
        t0 = state["t0"] = time.perf_counter()
        end = min(steady_end, t0 + args.duration)
        n, interval = 0, 1.0 / args.flood_rate
        pace_t, pace_n = t0, 0  # pacing restarts on each socket: no burst for the slots missed between
        while time.perf_counter() < end:
            if client is None or client.closed or client.transport.is_closing():
                if client is not None:
                    at = client.extra.get("closed_at", time.perf_counter())
                    closed({"at_s": round(at - t0, 4), "code": client.close_code, "frames_sent": n})
                    if report["first_close_after_s"] is None:
                        report["first_close_after_s"] = round(at - t0, 4)
                        report["first_close_code"] = client.close_code
                        report["frames_sent_before_first_close"] = n
                    client = None
                if not args.reconnect:
                    break
                await asyncio.sleep(0.05)
                client = await connect(enter=False)
                pace_t, pace_n = time.perf_counter(), n
                continue
            # Every frame that is due by now, in one go (asyncio sleeps are ~1 ms at best).
            due = min(int((time.perf_counter() - pace_t) / interval) + 1 - (n - pace_n), 1000)
            for _ in range(due):
                if client.closed or client.transport.is_closing():
                    break
                client.send_text(json.dumps({"type": "message", "body": f"flood {n}", "client_id": f"f-{n}"}))
                n += 1
            if not client.writable.is_set():  # the kernel and asyncio buffers are full: the server reads slower
                report["blocked_writes"] += 1
                try:
                    await asyncio.wait_for(client.writable.wait(), max(0.001, end - time.perf_counter()))
                except TimeoutError:
                    pass
            await asyncio.sleep(0.001)
        report["flood_s"] = round(time.perf_counter() - t0, 3)
        report["frames_sent"] = n
        if client is not None and not client.closed:
            report["open_at_end"] = True
            client.close()
        return report

    return during


def _since(t0):
    return None if t0 is None else round(time.perf_counter() - t0, 4)


def client_main(args):
    """The load generator process: loadgen.run_load with the flooder as its `during` hook."""
    from bench import loadgen

    lg = argparse.Namespace(
        system="chatsite", host=args.host, ports=args.ports, server_pids=args.server_pids, extra_pids=[],
        server_core=args.server_core, rooms=1, members=args.members, rate=args.rate, warmup=args.warmup,
        duration=args.duration, drain=args.drain, drain_idle=args.drain_idle, concurrency=8,
        connect_timeout=args.connect_timeout, steady_file=None,
    )
    during = flooder(args) if args.flood_rate > 0 else None
    result = asyncio.run(loadgen.run_load(lg, during=during))
    if during is not None:
        result["flooder"] = result.pop("during")
    print(json.dumps(result), flush=True)


# ---------------------------------------------------------------- the phases (orchestrator side)

def run_phase(phase, args):
    flood_rate = args.flood_rate if phase == "flood" else 0
    server = servers.start(SYSTEM, core=args.server_core)
    try:
        cmd = servers.pin_prefix(args.load_core) + [
            sys.executable, "-m", "bench.flood", "--client",
            "--ports", ",".join(map(str, server.ports)), "--server-pids", ",".join(map(str, server.pids)),
            "--members", str(args.members), "--rate", f"{args.rate:g}", "--warmup", str(args.warmup),
            "--duration", str(args.duration), "--drain", str(args.drain), "--drain-idle", str(args.drain_idle),
            "--flood-rate", f"{flood_rate:g}", "--connect-timeout", str(args.connect_timeout),
        ] + (["--server-core", str(args.server_core)] if args.server_core is not None else []) + (
            ["--reconnect"] if args.reconnect else [])
        timeout = args.connect_timeout + args.warmup + args.duration + args.drain + 60
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if out.returncode != 0 or not lines:
            raise RuntimeError(f"load generator failed ({out.returncode}):\n{out.stderr[-2000:]}")
        row = json.loads(lines[-1])
        row["server_alive"] = server.alive()
        row["messages_stored"] = server.stored_messages()
        if "flooder" in row and row["messages_stored"] is not None:
            # Stored beyond the normal members' messages: the flood messages the server let through.
            row["flooder"]["flood_messages_stored"] = row["messages_stored"] - row["messages_sent"]
        row["server_log_warnings"] = [line for line in server.log_tail(400).splitlines()
                                      if "WARNING" in line or "ERROR" in line or "Traceback" in line][-8:]
    finally:
        servers.stop(server)
    return row


def compare(base, flood):
    out = {}
    for q in ("p50", "p90", "p99", "max"):
        b, f = base["latency_ms"].get(q), flood["latency_ms"].get(q)
        out[f"{q}_ratio"] = round(f / b, 2) if b and f is not None else None
    b, f = base.get("server_cpu_s"), flood.get("server_cpu_s")
    out["server_cpu_ratio"] = round(f / b, 2) if b and f is not None else None
    return out


def _fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def markdown(rows):
    head = ("| phase | received/expected | lost | p50 ms | p90 ms | p99 ms | max ms | server CPU s (busy) "
            "| load-gen busy | flood frames sent | rate_limited errors | flooder closed after s (code) "
            "| server alive |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for row in rows:
        if "failed" in row:
            lines.append(f"| {row['phase']} | failed: {row['failed'][:120]!r} |")
            continue
        lat, fl = row["latency_ms"], row.get("flooder")
        closed = "–"
        if fl:
            if fl["first_close_after_s"] is not None:
                closed = f"{fl['first_close_after_s']:.3f} ({fl['first_close_code']})"
            elif fl["connects_refused"]:
                closed = f"refused at connect ({', '.join(fl['close_codes'])})"
            else:
                closed = "not closed" if fl["connects"] else "never connected"
            if fl["reconnect"]:
                closed += (f"; reconnecting: {fl['connects']} connects, {fl['connects_refused']} refused at once, "
                           f"{fl['closes_total']} closes")
        lines.append(
            f"| {row['phase']} | {_fmt(row['deliveries_received'])}/{_fmt(row['deliveries_expected'])} "
            f"| {_fmt(row['lost'])} "
            f"| {_fmt(lat['p50'])} | {_fmt(lat['p90'])} | {_fmt(lat['p99'])} | {_fmt(lat['max'])} "
            f"| {_fmt(row['server_cpu_s'], 2)} ({row['server_cpu_util'] * 100:.0f} %) "
            f"| {row['loadgen_cpu_util'] * 100:.0f} % "
            f"| {_fmt(fl['frames_sent']) if fl else '–'} | {_fmt(fl['rate_limited_errors']) if fl else '–'} "
            f"| {closed} | {'yes' if row['server_alive'] else 'NO'} |"
        )
    flood = next((r for r in rows if r["phase"] == "flood" and "vs_baseline" in r), None)
    if flood:
        v = flood["vs_baseline"]
        lines.append("")
        lines.append(f"With the flood / without: p50 ×{_fmt(v['p50_ratio'], 2)}, p99 ×{_fmt(v['p99_ratio'], 2)}, "
                     f"max ×{_fmt(v['max_ratio'], 2)}, server CPU ×{_fmt(v['server_cpu_ratio'], 2)}.")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10.0, help="steady window of each phase, seconds")
    p.add_argument("--flood-rate", type=float, default=5000.0, help="flood frames per second")
    p.add_argument("--json", type=Path, default=None, help="rows file (default bench/results/flood-<stamp>.jsonl)")
    p.add_argument("--members", type=int, default=20, help="normal members of the room")
    p.add_argument("--rate", type=float, default=1.0, help="messages per second per normal member")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--drain", type=float, default=10.0, help="longest wait for late receipts")
    p.add_argument("--drain-idle", type=float, default=7.0)
    p.add_argument("--reconnect", action="store_true", help="the flooder reopens its socket after each close")
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--load-core", type=int, default=1)
    p.add_argument("--connect-timeout", type=float, default=60.0)
    p.add_argument("--smoke", action="store_true", help="tiny run for CI: asserts nothing about speed")
    # The load generator process (started by the phases, pinned to --load-core).
    p.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    p.add_argument("--ports", type=lambda s: [int(x) for x in s.split(",")], help=argparse.SUPPRESS)
    p.add_argument("--server-pids", type=lambda s: [int(x) for x in s.split(",")], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.smoke:
        args.members, args.duration, args.warmup, args.drain, args.drain_idle = 4, 3.0, 1.0, 5.0, 3.0
        args.flood_rate = min(args.flood_rate, 1000.0)
    if (os.cpu_count() or 1) < 2:
        args.server_core = args.load_core = None
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.client:
        return client_main(args)
    signal.signal(signal.SIGTERM, _stop_on_term)
    from bench.run import machine

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.json or RESULTS / f"flood-{stamp}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)

    extra_env, changed = {}, {}
    limits = effective_limits()
    needed = args.members + 1  # the normal members and the flooder, all from 127.0.0.1
    if 0 < limits["CHAT_WS_PER_ADDRESS"] < needed:
        extra_env["CHAT_WS_PER_ADDRESS"] = changed["CHAT_WS_PER_ADDRESS"] = str(needed)
        limits = effective_limits(extra_env)
    register(extra_env)

    meta = {"run": stamp, "machine": machine(), "mode": "flood", "system": SYSTEM,
            "about": servers.SYSTEMS[SYSTEM]["about"], "limits": limits, "settings_changed": changed,
            "members": args.members, "rate_per_member": args.rate, "duration_s": args.duration,
            "warmup_s": args.warmup, "flood_rate_per_s": args.flood_rate, "reconnect": args.reconnect}
    rows = []
    for phase in ("baseline", "flood"):
        t0 = time.monotonic()
        try:
            row = run_phase(phase, args)
        except Exception as exc:  # a failed phase is a row, so the other still reports
            row = {"failed": str(exc)[-1500:]}
        row = {**meta, **row, "mode": "flood", "phase": phase, "wall_s": round(time.monotonic() - t0, 1)}
        if phase == "flood" and rows and "failed" not in rows[0] and "failed" not in row:
            row["vs_baseline"] = compare(rows[0], row)
        rows.append(row)
        line = json.dumps(row)
        with open(out, "a") as f:
            f.write(line + "\n")
        print(line, flush=True)
    print()
    print(markdown(rows), flush=True)
    print(f"rows written to {out}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
