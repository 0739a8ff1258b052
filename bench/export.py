"""Export memory: a room export of about 100 MB streamed through the real ASGI application (the
view, its middleware, Django's ASGI handler), the process's resident memory sampled at every
chunk sent. The figure that matters is the growth over the RSS before the request: bounded by
one keyset page, not by the room's size.

    python -m bench.export [--megabytes 100] [--format jsonl]

Uses its own SQLite file under /tmp; rows are written with the driver's executemany. Prints one
JSON object.
"""
import argparse
import asyncio
import json
import os
import random
import time

BODY_CHARS = 1000


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def setup():
    path = "/tmp/findexp-bench-export.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(room, author, count):
    from django.db import connection
    from django.utils import timezone

    from rooms.models import Room

    rng = random.Random(16)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyzéü") for _ in range(rng.randint(2, 9))) for _ in range(5000)]
    sent = connection.ops.adapt_datetimefield_value(timezone.now())

    def rows():
        for seq in range(1, count + 1):
            body = " ".join(rng.choice(words) for _ in range(BODY_CHARS // 6))[:BODY_CHARS]
            yield room.id, author.id, body, sent, seq

    connection.ensure_connection()
    with connection.connection as raw:
        raw.executemany("INSERT INTO rooms_message (room_id, author_id, body, sent_at, seq) VALUES (?, ?, ?, ?, ?)", rows())
    Room.objects.filter(pk=room.pk).update(seq=count)


async def stream(path):
    """GET `path` through the ASGI app; returns (status, bytes, chunks, peak RSS MB)."""
    from chatsite.asgi import application

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path.split("?")[0], "raw_path": path.split("?")[0].encode(), "query_string": path.partition("?")[2].encode(),
             "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
    sent = {"status": None, "bytes": 0, "chunks": 0, "peak": rss_mb()}
    asked = False

    async def receive():
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            sent["bytes"] += len(message.get("body", b""))
            sent["chunks"] += 1
            sent["peak"] = max(sent["peak"], rss_mb())

    await application(scope, receive, send)
    return sent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--format", choices=("jsonl", "md"), default="jsonl")
    args = parser.parse_args(argv)
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    setup()
    from rooms import services

    room, author = services.room_create(), services.identity_create(name="Exporter")
    count = args.megabytes * 1024 * 1024 // (BODY_CHARS + 150)
    t0 = time.perf_counter()
    fill(room, author, count)
    fill_s = time.perf_counter() - t0
    before = rss_mb()
    t0 = time.perf_counter()
    result = asyncio.run(stream(f"/rooms/{room.code}/export/?format={args.format}"))
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "format": args.format, "messages": count, "status": result["status"],
        "megabytes_sent": round(result["bytes"] / 1024 / 1024, 1), "chunks": result["chunks"],
        "seconds": round(seconds, 1), "fill_s": round(fill_s, 1),
        "rss_before_mb": round(before, 1), "rss_peak_mb": round(result["peak"], 1),
        "rss_growth_mb": round(result["peak"] - before, 1),
    }))


if __name__ == "__main__":
    main()
