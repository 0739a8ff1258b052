"""The load generator: asyncio WebSocket clients, run in a process of its own (pinned by bench.run).

Every system is driven by the same code. Members come in through each system's real flow (home
form, session cookie, room page, socket; chatsite's is bench/pageflow.py, which the tests use
too), then every member sends at a fixed rate; each body carries a marker `~B<sender>:<n>:<µs>~`,
so a receipt is matched to its message and its latency read without parsing the system's JSON.
Prints one JSON object (the run's figures) on stdout.

The WebSocket client (bench/wsclient.py, the one the tests use too) is a small asyncio.Protocol
rather than a library: at 20,000+ receipts a second a general-purpose client would become the
bottleneck on its one core, and the figures would then describe the load generator instead of
the server.
"""
import argparse
import asyncio
import json
import os
import random
import re
import sys
import time

from bench import procstat
from bench.pageflow import Browser
from bench.wsclient import CLOCK_ORIGIN, now_us

MARK = b"~B"
EMOJI = ("👍", "🎉", "❤️", "😂", "👀")
REFUSALS = ("rate_limited", "backpressure", "unavailable")  # error codes that mean "not sent, retry"


# ---------------------------------------------------------------- the systems, as a client sees them

class System:
    """How one system is entered, what a message looks like, and when a socket is ready."""

    ready_on_upgrade = True

    def __init__(self, host, ports):
        self.host, self.ports = host, ports

    def port_for(self, member):
        return self.ports[member % len(self.ports)]

    async def enter(self, browser, room_key, room_code, name):
        """Run the HTTP flow; returns (room code, socket path)."""
        raise NotImplementedError

    def message(self, body):
        return json.dumps({"type": "message", "body": body})

    def control(self, client, payload, stats, at_us=0):
        """A frame without a benchmark marker."""

    def received(self, client, payload):
        """A broadcast message frame with a marker arrived (chatsite tracks its seq)."""

    def sent(self, client, client_id, text):
        """A message frame went out (chatsite keeps it until it comes back, to resend it)."""


class Chatsite(System):
    ready_on_upgrade = False

    def __init__(self, host, ports, page=True):
        super().__init__(host, ports)
        self.page = page

    async def enter(self, browser, room_key, room_code, name):
        if room_code is None:
            code = await browser.enter(name=name, page=self.page)
        else:
            code = await browser.enter(name=name, action="join", code=room_code, page=self.page)
        return code, f"/ws/rooms/{code}/"

    def message(self, body, client_id=None, reply_to=None):
        frame = {"type": "message", "body": body, "client_id": client_id}
        if reply_to is not None:
            frame["reply_to"] = reply_to
        return json.dumps(frame)

    # As the room page does: a `tick` whose seq is past the last one seen starts a `sync`, and a
    # message refused with rate_limited or unavailable (the error carries its client_id) is sent
    # again a moment later, up to RESEND_TRIES times.
    RESEND_AFTER = 0.5
    RESEND_TRIES = 5

    def received(self, client, payload):
        k = payload.find(b'"id":')
        if k >= 0:  # the latest message id, for replies and reactions (--replies, --reactions)
            m = k + 5
            while payload[m:m + 1].isdigit():
                m += 1
            if m > k + 5:
                client.extra["last_id"] = int(payload[k + 5:m])
        i = payload.find(b'"seq":')
        if i >= 0:
            j = i + 6
            while payload[j:j + 1].isdigit():
                j += 1
            seq = int(payload[i + 6:j])
            if seq > client.extra.get("seq", 0):
                client.extra["seq"] = seq
        cid = payload.find(b'"client_id":"')
        if cid >= 0:
            client.extra.get("pending", {}).pop(payload[cid + 13:payload.find(b'"', cid + 13)].decode(), None)

    def sent(self, client, client_id, text):
        client.extra.setdefault("pending", {})[client_id] = [text, 0]

    def control(self, client, payload, stats, at_us=0):
        if payload.startswith(b'{"type":"tick"'):
            seq = json.loads(payload)["seq"]
            if seq > client.extra.get("seq", 0) and not client.extra.get("syncing"):
                client.extra["syncing"] = True
                stats.syncs += 1
                client.send_text(json.dumps({"type": "sync", "after": client.extra.get("seq", 0)}))
        elif payload.startswith(b'{"type":"sync"'):
            frame = json.loads(payload)
            seen = client.extra.setdefault("seen", set())
            for message in frame.get("messages", []):
                body = message.get("body") or ""
                i = body.find(MARK.decode())
                if i < 0:
                    continue
                sender, n, sent_us = body[i + 2:body.index("~", i + 2)].split(":")
                key = (int(sender), int(n))
                client.extra.get("pending", {}).pop(message.get("client_id"), None)
                if key not in seen:
                    seen.add(key)
                    stats.recovered += 1
                    stats.receipt(key, int(sent_us), at_us)
            client.extra["seq"] = max(client.extra.get("seq", 0), frame["seq"])
            if frame.get("has_more"):
                client.send_text(json.dumps({"type": "sync", "after": client.extra["seq"]}))
            else:
                client.extra["syncing"] = False
        elif payload.startswith((b'{"type":"reactions"', b'{"type":"edit"', b'{"type":"delete"')):
            seq = json.loads(payload).get("seq", 0)  # a change without a marker: it moves the seq too
            if seq > client.extra.get("seq", 0):
                client.extra["seq"] = seq
        elif payload.startswith(b'{"type":"hello"'):
            frame = json.loads(payload)
            client.extra["seq"] = frame.get("room", {}).get("seq", 0)
            if not client.ready.done():
                client.ready.set_result(True)
        elif payload.startswith(b'{"type":"error"'):
            frame = json.loads(payload)
            stats.error(frame.get("code", "?"))
            pending = client.extra.get("pending", {}).get(frame.get("client_id"))
            if pending is not None and frame.get("code") in REFUSALS:
                if pending[1] < self.RESEND_TRIES:
                    pending[1] += 1
                    stats.resent += 1
                    asyncio.get_running_loop().call_later(self.RESEND_AFTER, client.send_text, pending[0])
                else:
                    stats.gave_up += 1


class Tutorial(System):
    async def enter(self, browser, room_key, room_code, name):
        code = room_code or f"bench{room_key}"
        for path in ("/chat/", f"/chat/{code}/"):
            status, _, _ = await browser.request("GET", path)
            if status != 200:
                raise RuntimeError(f"{path}: HTTP {status}")
        return code, f"/ws/chat/{code}/"

    def message(self, body, client_id=None):
        return json.dumps({"message": body})


class FlaskSocketIO(System):
    ready_on_upgrade = False

    async def enter(self, browser, room_key, room_code, name):
        await browser.request("GET", "/")
        form = {"name": name, "code": room_code or ""}
        form.update({"create": "1"} if room_code is None else {"join": "1"})
        status, _, _ = await browser.request("POST", "/", form=form)
        if status != 302:
            raise RuntimeError(f"home form: HTTP {status}")
        status, _, html = await browser.request("GET", "/room")
        found = re.search(r"Chat Room: (\w+)", html)
        if status != 200 or not found:
            raise RuntimeError(f"room page: HTTP {status}")
        return found.group(1), "/socket.io/?EIO=4&transport=websocket"

    def message(self, body, client_id=None):
        return "42" + json.dumps(["message", {"data": body}])

    def control(self, client, payload, stats, at_us=0):
        # Engine.IO v4: 0 open, 2 ping (answer 3); Socket.IO 40 connected, 44 connect error.
        if payload == b"2":
            client.send_text("3")
        elif payload.startswith(b"0{"):
            client.send_text("40")
        elif payload.startswith(b"40"):
            if not client.ready.done():
                client.ready.set_result(True)
        elif payload.startswith(b"44"):
            stats.error("connect_error")


class Relay(System):
    async def enter(self, browser, room_key, room_code, name):
        code = room_code or f"R{room_key}"
        return code, f"/ws/rooms/{code}/"

    def message(self, body, client_id=None):
        return json.dumps({"type": "message", "body": body, "client_id": client_id})


SYSTEMS = {"chatsite": Chatsite, "tutorial": Tutorial, "flask-socketio": FlaskSocketIO, "ws-relay": Relay}


# ---------------------------------------------------------------- bookkeeping

def percentile(sorted_values, q):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(q / 100 * (len(sorted_values) - 1)))))
    return sorted_values[k]


class Stats:
    def __init__(self, members_per_room):
        self.members_per_room = members_per_room
        self.receipts = {}          # message key -> receipts so far
        self.received = 0
        self.window = (None, None)  # steady window in µs
        self.in_window = 0
        self.latencies = []         # µs, receipts of messages sent in the steady window
        self.errors = {}
        self.closed = 0
        self.last_receipt = 0
        self.syncs = 0        # chatsite: syncs started after a tick showed a gap
        self.recovered = 0    # chatsite: receipts that came by sync, not by broadcast
        self.resent = 0       # chatsite: refused messages sent again
        self.gave_up = 0      # chatsite: refused RESEND_TRIES + 1 times

    def receipt(self, key, sent_us, at_us):
        self.receipts[key] = self.receipts.get(key, 0) + 1
        self.received += 1
        self.last_receipt = at_us
        start, end = self.window
        if start is not None and start <= sent_us < end:
            self.latencies.append(at_us - sent_us)
        if start is not None and start <= at_us < (end or 1 << 62):
            self.in_window += 1

    def error(self, code):
        self.errors[code] = self.errors.get(code, 0) + 1


def summarize_ms(values_us):
    values = sorted(values_us)
    out = {}
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
        v = percentile(values, q)
        out[name] = None if v is None else round(v / 1000, 2)
    out["max"] = round(values[-1] / 1000, 2) if values else None
    return out


# ---------------------------------------------------------------- the run

async def open_members(system, args, stats, rooms, members, on_frame, page=True):
    """Every member through the real flow; the first of each room creates it. Returns members."""
    sem = asyncio.Semaphore(args.concurrency)
    clients = [None] * (rooms * members)
    codes = {}
    flow_ms, ready_ms, failures = [], [], []

    def on_close(client):
        stats.closed += 1

    deadline = time.perf_counter() + args.connect_timeout

    async def one(room, i):
        idx = room * members + i
        async with sem:
            if time.perf_counter() > deadline:
                failures.append("not started: the connect phase ran out of time")
                return
            port = system.port_for(idx)
            browser = Browser(f"http://{args.host}:{port}", user_agent="chatsite-bench")
            t0 = time.perf_counter()
            try:
                code, path = await system.enter(browser, room, codes.get(room), f"m{idx}")
                codes.setdefault(room, code)
                t1 = time.perf_counter()
                client = await browser.ws_connect(path, on_frame, on_close)
                client.extra["idx"] = idx
                client.extra["room_code"] = code
                if system.ready_on_upgrade:
                    client.ready.set_result(True)
                await asyncio.wait_for(client.ready, 30)
                t2 = time.perf_counter()
            except Exception as exc:  # a member that cannot get in is a figure, not a crash
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
                return
            flow_ms.append((t2 - t0) * 1000)
            ready_ms.append((t2 - t1) * 1000)
            clients[idx] = client

    # Creators first (one per room), then everyone else joins the existing rooms.
    await asyncio.gather(*(one(r, 0) for r in range(rooms)))
    await asyncio.gather(*(one(r, i) for r in range(rooms) for i in range(1, members)))
    flow, ready = sorted(flow_ms), sorted(ready_ms)
    connect = {
        "connected": len(flow),
        "failed": len(failures),
        "failures": failures[:5],
        "flow_ms_p50": _r(percentile(flow, 50)), "flow_ms_p99": _r(percentile(flow, 99)),
        "ws_ms_p50": _r(percentile(ready, 50)), "ws_ms_p99": _r(percentile(ready, 99)),
        "ws_ms_max": _r(ready[-1] if ready else None),
    }
    return clients, connect


def _r(value, digits=2):
    return None if value is None else round(value, digits)


async def run_load(args, during=None):
    """The load run. `during`, if given, is a coroutine function started with the senders (before
    the warm-up) as during(system, clients, steady_start, steady_end), perf_counter times; what it
    returns goes to the result as "during" (bench.flood adds its flooding member this way)."""
    system = SYSTEMS[args.system](args.host, args.ports)
    stats = Stats(args.members)
    mark = MARK

    def on_frame(client, payload, at_us):
        i = payload.find(mark)
        if i < 0 or payload.startswith(b'{"type":"sync"'):
            system.control(client, payload, stats, at_us)
            return
        j = payload.find(b"~", i + 2)
        sender, n, sent_us = payload[i + 2:j].split(b":")
        system.received(client, payload)
        key = (int(sender), int(n))
        seen = client.extra.setdefault("seen", set())
        if key not in seen:  # a message can come twice: by broadcast and by a sync
            seen.add(key)
            stats.receipt(key, int(sent_us), at_us)

    t_connect = time.perf_counter()
    clients, connect = await asyncio.wait_for(
        open_members(system, args, stats, args.rooms, args.members, on_frame), args.connect_timeout + 120
    )
    connect["seconds"] = round(time.perf_counter() - t_connect, 2)
    await asyncio.sleep(1.0)  # let join notices settle

    sent = [0] * len(clients)
    sent_in_window = [0]
    slowed = [0]
    skipped = [0]
    interval = 1.0 / args.rate
    start = time.perf_counter() + 0.2
    steady_start = start + args.warmup
    steady_end = steady_start + args.duration
    stats.window = (int((steady_start - CLOCK_ORIGIN) * 1e6), int((steady_end - CLOCK_ORIGIN) * 1e6))

    async def sender(idx, client):
        t_next = start + random.random() * interval
        n = 0
        while t_next < steady_end and not client.closed:
            delay = t_next - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                # More than a second behind (the server pushed back): skip the missed slots.
                missed = int(-delay / interval)
                skipped[0] += missed
                t_next += missed * interval
            if not client.writable.is_set():
                slowed[0] += 1
                try:
                    await asyncio.wait_for(client.writable.wait(), max(0.01, steady_end - time.perf_counter()))
                except TimeoutError:
                    break
            t = now_us()
            last_id = client.extra.get("last_id")
            if last_id is not None and random.random() < args.replies:
                # A reply to the latest message, mentioning another member of the room.
                other = (idx // args.members) * args.members + random.randrange(args.members)
                body = f"@m{other} yes, {MARK.decode()}{idx}:{n}:{t}~"
                text = system.message(body, f"{idx}-{n}", reply_to=last_id)
            else:
                body = f"hello from m{idx}, how is everyone? {MARK.decode()}{idx}:{n}:{t}~"
                text = system.message(body, f"{idx}-{n}")
            client.send_text(text)
            if last_id is not None and random.random() < args.reactions:
                client.send_text(json.dumps({"type": "react", "id": last_id, "emoji": random.choice(EMOJI)}))
            system.sent(client, f"{idx}-{n}", text)
            if stats.window[0] <= t < stats.window[1]:
                sent_in_window[0] += 1
            n += 1
            sent[idx] = n
            t_next += interval

    cpu_pids = procstat.tree(args.server_pids)
    tasks = [asyncio.create_task(sender(i, c)) for i, c in enumerate(clients) if c is not None]
    side = asyncio.create_task(during(system, clients, steady_start, steady_end)) if during else None

    await asyncio.sleep(max(0, steady_start - time.perf_counter()))
    if args.steady_file:
        open(args.steady_file, "w").close()  # tells bench.profile the steady window has begun
    cpu0, own0 = procstat.cpu_seconds(cpu_pids), os.times()
    core0 = procstat.cpu_busy(args.server_core) if args.server_core is not None else None
    extra_cpu0 = procstat.cpu_seconds(args.extra_pids) if args.extra_pids else 0.0
    await asyncio.sleep(max(0, steady_end - time.perf_counter()))
    cpu1, own1 = procstat.cpu_seconds(procstat.tree(args.server_pids)), os.times()
    core1 = procstat.cpu_busy(args.server_core) if args.server_core is not None else None
    extra_cpu1 = procstat.cpu_seconds(args.extra_pids) if args.extra_pids else 0.0
    rss_kb = procstat.rss_kb(procstat.tree(args.server_pids))
    await asyncio.gather(*tasks, return_exceptions=True)
    during_result = await side if side is not None else None

    # Drain: wait until every expected receipt arrived, or nothing arrived for a while.
    expected = sum(sent) * args.members  # refused messages included: the drain may not wait for them
    drain_start = time.perf_counter()
    def still_expected():
        refusals = sum(stats.errors.get(code, 0) for code in REFUSALS)
        return expected - (refusals - stats.resent + stats.gave_up) * args.members

    drain_start_us = now_us()
    while stats.received < still_expected() and time.perf_counter() - drain_start < args.drain:
        # Idle since the last receipt, or since the drain began: on a busy machine the first
        # receipts may come only after the senders stopped, and must still be waited for.
        idle_s = (now_us() - max(stats.last_receipt, drain_start_us)) / 1e6
        if idle_s > args.drain_idle:
            break
        await asyncio.sleep(0.1)
    drain_s = time.perf_counter() - drain_start

    # A message the server refused (rate_limited: "send it again later") reached nobody and is
    # no loss: the sender was told. Errors carry no client_id, so refused messages are counted
    # among the messages that reached nobody; every other missing receipt is a lost delivery.
    lost, unheard = 0, 0
    for idx, count in enumerate(sent):
        for n in range(count):
            got = stats.receipts.get((idx, n), 0)
            if got == 0:
                unheard += 1
            elif got < args.members:
                lost += args.members - got
    refusals = sum(stats.errors.get(code, 0) for code in REFUSALS)
    refused = refusals - stats.resent + stats.gave_up if stats.resent else refusals  # given up for good
    lost += max(0, unheard - refused) * args.members
    duplicates = sum(max(0, c - args.members) for c in stats.receipts.values())
    for c in clients:
        if c is not None:
            c.close()

    offered = args.rooms * args.members * args.rate * args.members
    delivered = stats.in_window
    cpu = cpu1 - cpu0
    own_cpu = (own1.user + own1.system) - (own0.user + own0.system)
    result = {
        "mode": "load",
        "offered_per_s": offered,
        "sent_per_s": round(sent_in_window[0] * args.members / args.duration, 1),
        "delivered_per_s": round(delivered / args.duration, 1),
        "messages_sent": sum(sent),
        "deliveries_expected": expected,
        "deliveries_received": stats.received,
        "lost": lost,
        "lost_pct": round(100 * lost / expected, 2) if expected else None,
        "refused_messages": refused,
        "resent_messages": stats.resent,
        "syncs": stats.syncs,
        "recovered_by_sync": stats.recovered,
        "duplicates": duplicates,
        "latency_ms": summarize_ms(stats.latencies),
        "server_cpu_s": round(cpu, 3),
        "server_cpu_us_per_delivery": round(cpu / delivered * 1e6, 1) if delivered else None,
        "server_cpu_util": round(cpu / args.duration, 3),
        "extra_cpu_s": round(extra_cpu1 - extra_cpu0, 3) if args.extra_pids else None,
        "server_rss_mb": round(rss_kb / 1024, 1),
        # Share of the server's core that other processes of the machine took in the window:
        # the noise figure of this row (0 on a quiet machine).
        "server_core_others": _others(core0, core1, cpu),
        "loadgen_cpu_util": round(own_cpu / args.duration, 3),
        "slowed_sends": slowed[0],
        "skipped_slots": skipped[0],
        "errors": stats.errors,
        "closed_sockets": stats.closed,
        "drain_s": round(drain_s, 2),
        "connect": connect,
    }
    if side is not None:
        result["during"] = during_result
    return result


def _others(before, after, own_cpu_s):
    if not before or after[1] == before[1]:
        return None
    busy_s = (after[0] - before[0]) / procstat.TICK
    total_s = (after[1] - before[1]) / procstat.TICK
    return round(max(0.0, busy_s - own_cpu_s) / total_s, 3)


async def run_idle(args):
    """N idle members in rooms of `members`; the server's resident memory per connection."""
    system = SYSTEMS[args.system](args.host, args.ports)
    if isinstance(system, Chatsite):
        system.page = False  # the page render adds nothing to an idle socket's memory
    stats = Stats(args.members)
    rooms = max(1, args.idle // args.members)
    pids = procstat.tree(args.server_pids)
    rss0 = procstat.rss_kb(pids)
    t0 = time.perf_counter()
    clients, connect = await asyncio.wait_for(
        open_members(system, args, stats, rooms, args.members, lambda c, p, t: system.control(c, p, stats)),
        args.connect_timeout + 120,
    )
    connect["seconds"] = round(time.perf_counter() - t0, 2)
    await asyncio.sleep(args.settle)
    alive = sum(1 for c in clients if c is not None and not c.closed)
    rss1 = procstat.rss_kb(procstat.tree(args.server_pids))
    for c in clients:
        if c is not None:
            c.close()
    return {
        "mode": "idle",
        "idle_target": rooms * args.members,
        "idle_open": alive,
        "server_rss_mb_before": round(rss0 / 1024, 1),
        "server_rss_mb_after": round(rss1 / 1024, 1),
        "rss_kb_per_connection": round((rss1 - rss0) / alive, 1) if alive else None,
        "closed_sockets": stats.closed,
        "connect": connect,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", choices=sorted(SYSTEMS), required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--ports", type=lambda s: [int(x) for x in s.split(",")], required=True)
    p.add_argument("--server-pids", type=lambda s: [int(x) for x in s.split(",")], required=True)
    p.add_argument("--extra-pids", type=lambda s: [int(x) for x in s.split(",") if x], default=[],
                   help="processes whose CPU is reported apart (e.g. redis-server)")
    p.add_argument("--mode", choices=["load", "idle"], default="load")
    p.add_argument("--server-core", type=int, default=None, help="the core the server is pinned to (noise figure)")
    p.add_argument("--rooms", type=int, default=5)
    p.add_argument("--members", type=int, default=20)
    p.add_argument("--rate", type=float, default=5.0, help="messages per second per member")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=12.0, help="steady window, seconds")
    p.add_argument("--drain", type=float, default=20.0, help="longest wait for late receipts")
    p.add_argument("--drain-idle", type=float, default=7.0,
                   help="stop draining after this long without a receipt (chatsite ticks every 5 s)")
    p.add_argument("--idle", type=int, default=1000, help="idle mode: connections to open")
    p.add_argument("--settle", type=float, default=3.0)
    p.add_argument("--concurrency", type=int, default=8,
                   help="member flows in flight at once (daphne closes a socket not accepted within 5 s)")
    p.add_argument("--connect-timeout", type=float, default=180.0)
    p.add_argument("--steady-file", default=None, help="created when the steady window begins")
    p.add_argument("--replies", type=float, default=0.0,
                   help="chatsite: share of messages that reply to the latest one and mention a member")
    p.add_argument("--reactions", type=float, default=0.0,
                   help="chatsite: reactions sent per message, on the latest message (0.1: at 10 %% of the message rate)")
    args = p.parse_args(argv)
    runner = run_load if args.mode == "load" else run_idle
    result = asyncio.run(runner(args))
    result["system_client"] = args.system
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
