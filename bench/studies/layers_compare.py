"""RedisChannelLayer vs RedisPubSubChannelLayer: what one room's fan-out costs across processes.

One sender process calls group_send at a fixed rate (one worker publishing a room's messages);
one receiver process holds the room's members as channels in the group (another worker's open
sockets) and receives every message on every channel. Measured per delivery: the sender's CPU,
the receiver's CPU, Redis's CPU, the latency from group_send to receive (p50/p99), and how many
deliveries never arrived. A private redis-server on a free loopback port; nothing shared.

    .venv/bin/python bench/studies/layers_compare.py            # the table in docs/deploy.md
    .venv/bin/python bench/studies/layers_compare.py --members 20 --rate 100 --seconds 5
    .venv/bin/python bench/studies/layers_compare.py --app      # the whole app: 2 workers, PostgreSQL

--app starts bench/loopback.py's two workers on PostgreSQL and a private Redis once per layer
(setting CHANNEL_LAYER) and drives them with bench.loadgen (5 rooms x 20 members by default).
"""
import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import ports  # noqa: E402
from bench.loopback import RedisServer  # noqa: E402

BACKENDS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
GROUP = "room.BENCH"
BODY = "x" * 200  # about the size of a message frame's text


def make_layer(backend, url):
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    hosts = [{"address": url, "socket_timeout": 30}]
    if backend == "core":
        return RedisChannelLayer(hosts=hosts, capacity=1000, prefix="bench")
    return RedisPubSubChannelLayer(hosts=hosts, prefix="bench")


def _receiver(backend, url, members, expected, ready, results):
    async def run():
        layer = make_layer(backend, url)
        channels = [await layer.new_channel() for _ in range(members)]
        for channel in channels:
            await layer.group_add(GROUP, channel)
        latencies = []

        async def consume(channel):
            for _ in range(expected):
                message = await layer.receive(channel)
                latencies.append(time.time() - message["t"])

        ready.set()
        cpu = time.process_time()
        tasks = [asyncio.ensure_future(consume(c)) for c in channels]
        await asyncio.wait(tasks, timeout=expected / 10 + 20)
        for task in tasks:
            task.cancel()
        results.put({"receiver_cpu": time.process_time() - cpu, "latencies": latencies})
        await layer.flush()

    asyncio.run(run())


def _sender(backend, url, count, rate, results):
    async def run():
        layer = make_layer(backend, url)
        await layer.group_send(GROUP, {"type": "warm", "t": time.time(), "text": ""})  # connect first
        cpu = time.process_time()
        start = time.monotonic()
        for i in range(count):
            await layer.group_send(GROUP, {"type": "room.event", "t": time.time(), "i": i, "text": BODY})
            delay = start + (i + 1) / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        results.put({"sender_cpu": time.process_time() - cpu})
        await asyncio.sleep(0.5)

    asyncio.run(run())


def _redis_cpu(port):
    import redis

    info = redis.Redis(port=port).info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def measure(backend, url, port, *, members, rate, seconds):
    count = int(rate * seconds)
    ctx = mp.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    receiver = ctx.Process(target=_receiver, args=(backend, url, members, count + 1, ready, results))
    receiver.start()
    ready.wait(30)
    redis_cpu = _redis_cpu(port)
    sender = ctx.Process(target=_sender, args=(backend, url, count, rate, results))
    sender.start()
    merged = {}
    for _ in range(2):
        merged.update(results.get(timeout=count / 10 + 60))
    sender.join(10)
    receiver.join(10)
    redis_cpu = _redis_cpu(port) - redis_cpu
    deliveries = count * members
    latencies = sorted(merged["latencies"])
    received = len(latencies) - members  # the warm-up message reached every member too
    return {
        "backend": backend, "members": members, "rate": rate, "deliveries": deliveries,
        "lost": deliveries - received,
        "sender_us_per_delivery": round(merged["sender_cpu"] / deliveries * 1e6, 1),
        "receiver_us_per_delivery": round(merged["receiver_cpu"] / deliveries * 1e6, 1),
        "redis_us_per_delivery": round(redis_cpu / deliveries * 1e6, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
    }


def measure_app(backend, *, rooms, members, rate, seconds, postgres):
    """One loadgen run against two real workers with CHANNEL_LAYER=backend; its JSON figures."""
    import subprocess

    from bench.loopback import Topology, database_create, database_drop, venv_python

    url = postgres.rsplit("/", 1)[0] + f"/chatsite_layers_{backend}"
    database_create(url, fresh=True)
    redis = RedisServer(ports.free_ports(ports.LOOPBACK, 1)[0], log_dir=tempfile.mkdtemp(prefix="layers-app-")).start()
    env = {"CHANNEL_LAYER": backend, "CHAT_WS_PER_ADDRESS": "100000", "CHAT_RATE_LIMIT": "off",
           "CHAT_FLOOD_LIMIT": "100000/10", "CHAT_CODE_GUESS_LIMIT": "100000/10", "LOG_LEVEL": "WARNING"}
    topology = Topology(database_url=url, redis_url=redis.url, use_nginx=False, env=env)
    try:
        topology.prepare()
        configured = topology.manage("shell", "--no-imports", "-c",
                                     "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['BACKEND'])")
        if BACKENDS[backend] not in configured.stdout:
            return {"backend": backend, "skipped": f"settings ignore CHANNEL_LAYER ({configured.stdout.strip()})"}
        topology.start()
        cmd = [venv_python(), "-m", "bench.loadgen", "--system", "chatsite",
               "--ports", ",".join(str(w.port) for w in topology.workers),
               "--server-pids", ",".join(str(w.popen.pid) for w in topology.workers),
               "--extra-pids", str(redis.popen.pid), "--rooms", str(rooms), "--members", str(members),
               "--rate", str(rate), "--warmup", "2", "--duration", str(seconds), "--drain", "10"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        keep = ["offered_per_s", "delivered_per_s", "lost", "refused_messages", "duplicates", "latency_ms",
                "server_cpu_us_per_delivery", "extra_cpu_s"]
        return {"backend": backend, **{k: figures.get(k) for k in keep}}
    finally:
        topology.stop()
        redis.stop()
        database_drop(url)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, action="append", help="room sizes (default 20 and 100)")
    parser.add_argument("--rate", type=float, default=50, help="group_sends per second")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--app", action="store_true", help="the whole app on two workers instead")
    parser.add_argument("--app-rate", type=float, default=1.0, help="--app: messages/s per member")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.app:
        for _ in range(args.repeat):
            for backend in BACKENDS:
                row = measure_app(backend, rooms=5, members=20, rate=args.app_rate, seconds=8, postgres=args.postgres)
                print(json.dumps(row), flush=True)
        return
    port = ports.free_ports(ports.LOOPBACK, 1)[0]
    server = RedisServer(port, log_dir=tempfile.mkdtemp(prefix="layers-bench-")).start()
    rows = []
    try:
        for members in args.members or [20, 100]:
            for _ in range(args.repeat):
                for backend in BACKENDS:
                    rows.append(measure(backend, server.url, port, members=members, rate=args.rate,
                                        seconds=args.seconds))
                    print(json.dumps(rows[-1]) if args.json else _line(rows[-1]), flush=True)
    finally:
        server.stop()


def _line(row):
    return ("{backend:6} members={members:<4} deliveries/s={per_s:<6} lost={lost:<5} "
            "sender={sender_us_per_delivery}µs receiver={receiver_us_per_delivery}µs "
            "redis={redis_us_per_delivery}µs p50={p50_ms}ms p99={p99_ms}ms").format(
        per_s=int(row["rate"] * row["members"]), **row)


if __name__ == "__main__":
    main()
