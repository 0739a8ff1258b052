"""What webhook bots cost the message path: `python -m bench.outbox [--messages N] [--database-url URL]`.

Stores N messages through the one send path (rooms.live.writer.message_send, in bursts of 100
so the group commit batches them) in three rooms, on a fresh database (SQLite in a temporary
directory unless --database-url), and prints the CPU time per message:
- `none`: no bot has a webhook anywhere (the outbox is one dict lookup per batch);
- `elsewhere`: webhook bots exist in other rooms only (the same, plus the cached bot list);
- `hooked`: the room has one webhook bot (a delivery row per message, in the same transaction).
Delivery itself is off (CHAT_WEBHOOK_WORKER=off): this measures the path a message pays for.
"""
import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time


def run(count):
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from rooms import bots, services
    from rooms.live import writer

    author = services.identity_create(name="Bench")
    rooms = {name: services.room_create() for name in ("none", "elsewhere", "hooked")}

    async def burst(room, start):
        await asyncio.gather(*(writer.message_send(room=room, author=author, body=f"message {n} of the bench")
                               for n in range(start, start + 100)))

    async def measure(room):
        for start in range(0, 200, 100):  # warm up
            await burst(room, start)
        cpu, wall = time.process_time(), time.perf_counter()
        for start in range(0, count, 100):
            await burst(room, start)
        return (time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e6

    results = {}
    results["none"] = asyncio.run(measure(rooms["none"]))
    other = services.room_create()
    for n in range(5):
        bots.create_bot(other, f"Elsewhere {n}", webhook_url="https://example.com/hook")
    results["elsewhere"] = asyncio.run(measure(rooms["elsewhere"]))
    bots.create_bot(rooms["hooked"], "Hooked", webhook_url="https://example.com/hook")
    results["hooked"] = asyncio.run(measure(rooms["hooked"]))
    from django.db import connection

    print(f"{connection.vendor}, {count} messages each, bursts of 100")
    print("| room | CPU µs/message | wall µs/message |")
    print("|---|---|---|")
    for name, (cpu, wall) in results.items():
        print(f"| {name} | {cpu:.0f} | {wall:.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return run(args.messages)
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatsite.settings", "CHATSITE_VAR_DIR": var,
               "CHAT_WEBHOOK_WORKER": "off", "CHAT_RATE_LIMIT": "off", "CHAT_WRITE_INTERVAL_MS": "0"}
        env.pop("DATABASE_URL", None)
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        subprocess.run([sys.executable, "-m", "bench.outbox", "--inner", "--messages", str(args.messages)],
                       env=env, check=True)


if __name__ == "__main__":
    main()
