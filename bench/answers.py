"""Answer bytes one address can draw: history asked for again and again, on many sockets (issue 18).

    .venv/bin/python -m bench.answers [--systems chatsite,chatsite-base] [--seconds 20]

One address opens --sockets (30, the per-address socket limit) sockets to a room of 1,500 long
messages (1,900 characters each) and, on each, asks for everything there is: it reconnects with
`?after=0` (a hello of CHAT_SYNC_MAX changes) and sends `sync` after 0 again as soon as each answer
has come, for --seconds. Meanwhile another member, from another address, sends a message every
second (within the production rate limit) and times its echo. Reported: the answer bytes the address drew (MB, and MB/s), how many
of its requests were refused (`rate_limited`) or waited, and the other member's latency. The
server runs with every production limit (bench/servers.py's limits for the load sweep are off),
pinned to core 0; this process on core 1. `chatsite-base` is another checkout (BENCH_BASE_TREE).
"""
import argparse
import asyncio
import json
import os
import time

from bench import servers
from bench.history import fill
from bench.pageflow import Browser
from bench.wsclient import HandshakeError

PRODUCTION_LIMITS = {"CHAT_RATE_LIMIT": "20/10", "CHAT_WS_PER_ADDRESS": "30", "CHAT_FLOOD_LIMIT": "100/10",
                     "CHAT_CODE_GUESS_LIMIT": "20/300", "CHAT_ROOM_CREATE_LIMIT": "10/600"}
BODY = "{n:06d} " + "long message text " * 105  # about 1,900 characters


def percentile(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q / 100))] * 1000, 1) if values else None


async def run(port, db_path, sockets, seconds):
    base = f"http://127.0.0.1:{port}"
    host = Browser(base, source="127.0.9.1")
    code = await host.enter(name="Host", page=False)
    fill(db_path, code, 1500, BODY)
    greedy = Browser(base, source="127.0.9.2")
    await greedy.enter(name="Greedy", action="join", code=code, page=False)
    member = Browser(base, source="127.0.9.3")
    await member.enter(name="Member", action="join", code=code, page=False)

    drawn = {"bytes": 0, "answers": 0, "refused": 0, "reconnects": 0}
    stop = time.monotonic() + seconds

    async def hungry():
        while time.monotonic() < stop:
            done = asyncio.get_running_loop().create_future()

            def on_frame(client, payload, at_us):
                if payload.startswith(b'{"type":"hello"') or payload.startswith(b'{"type":"sync"'):
                    drawn["bytes"] += len(payload)
                    drawn["answers"] += 1
                    if time.monotonic() < stop:
                        client.send_text('{"type":"sync","after":0}')
                elif payload.startswith(b'{"type":"error"') and b"rate_limited" in payload:
                    drawn["refused"] += 1
                    asyncio.get_running_loop().call_later(0.5, client.send_text, '{"type":"sync","after":0}')

            def on_close(client, done=done):
                if not done.done():
                    done.set_result(None)

            try:
                client = await greedy.ws_connect(f"/ws/rooms/{code}/?after=0", on_frame, on_close, timeout=10)
            except (HandshakeError, OSError, TimeoutError):
                await asyncio.sleep(0.5)
                continue
            drawn["reconnects"] += 1
            try:
                await asyncio.wait_for(done, max(0.1, stop - time.monotonic()))
            except TimeoutError:
                client.close()

    latencies, sent = [], {}

    def member_frame(client, payload, at_us):
        if payload.startswith(b'{"type":"message"'):
            frame = json.loads(payload)
            if frame.get("client_id") in sent:
                latencies.append(time.monotonic() - sent.pop(frame["client_id"]))

    talk = await member.ws_connect(f"/ws/rooms/{code}/", member_frame, lambda c: None)

    async def talking():
        n = 0
        while time.monotonic() < stop:
            sent[f"m{n}"] = time.monotonic()
            talk.send_text(json.dumps({"type": "message", "body": f"still here {n}", "client_id": f"m{n}"}))
            n += 1
            await asyncio.sleep(1.0)

    t0 = time.monotonic()
    await asyncio.gather(talking(), *(hungry() for _ in range(sockets)))
    await asyncio.sleep(2)
    elapsed = time.monotonic() - t0
    return {
        "answer_mb": round(drawn["bytes"] / 1e6, 1), "answer_mb_per_s": round(drawn["bytes"] / 1e6 / elapsed, 2),
        "answers": drawn["answers"], "refused": drawn["refused"], "reconnects": drawn["reconnects"],
        "member_latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                              "max": percentile(latencies, 100)},
        "member_lost": len(sent), "seconds": round(elapsed, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default="chatsite,chatsite-base")
    parser.add_argument("--sockets", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    args = parser.parse_args(argv)
    for system in args.systems.split(","):
        server = servers.start(system, core=args.server_core, extra_env=PRODUCTION_LIMITS)
        os.sched_setaffinity(0, {args.load_core})
        try:
            row = asyncio.run(run(server.ports[0], server.db_path, args.sockets, args.seconds))
        finally:
            servers.stop(server)
            os.sched_setaffinity(0, set(range(os.cpu_count())))
        row.update(system=system, sockets=args.sockets)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
