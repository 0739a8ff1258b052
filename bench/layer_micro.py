"""The in-memory channel layer's CPU per delivery, in one process: channels' layer against
chatsite/layers.py, with and without idle connections open beside the busy rooms.

    .venv/bin/python -m bench.layer_micro

No sockets and no server: R rooms of M members each receive E events through group_send, and
every member's receive loop takes them, as consumers do. CPU time (process_time) over
deliveries. Idle connections are members of other rooms waiting in receive(), as open but quiet
sockets are; the stock layer walks all of them on every send and receive.
"""
import argparse
import asyncio
import json
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

TEXT = json.dumps({"type": "message", "id": 1, "seq": 1, "client_id": "c-1", "body": "x" * 60,
                   "author": {"id": "abcdefghijklmnop", "name": "Somebody", "avatar": "/avatars/abc.svg"},
                   "sent_at": "2026-11-23T16:00:00.000000Z"})


async def measure(layer, rooms, members, idle, events):
    received = [0]
    busy, quiet = [], []
    for r in range(rooms):
        for _ in range(members):
            channel = await layer.new_channel()
            await layer.group_add(f"room.R{r}", channel)
            busy.append(channel)
    for i in range(idle):
        channel = await layer.new_channel()
        await layer.group_add(f"room.I{i // 20}", channel)
        quiet.append(channel)

    async def consumer(channel):
        while True:
            await layer.receive(channel)
            received[0] += 1

    tasks = [asyncio.create_task(consumer(c)) for c in busy + quiet]
    await asyncio.sleep(0.05)
    event = {"type": "room.event", "texts": [TEXT]}
    t0 = time.process_time()
    for i in range(events):
        await layer.group_send(f"room.R{i % rooms}", event)
        if i % 5 == 4:
            await asyncio.sleep(0)  # let the consumers take what arrived, as the loop would
    while received[0] < events * members:
        await asyncio.sleep(0)
    cpu = time.process_time() - t0
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return cpu / (events * members) * 1e6


def main():
    import django

    django.setup()
    from channels.layers import InMemoryChannelLayer as Stock

    from chatsite.layers import InMemoryChannelLayer as Lean

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=3000)
    p.add_argument("--idle", default="0,1000,10000")
    args = p.parse_args()
    for idle in [int(x) for x in args.idle.split(",")]:
        events = args.events if idle < 5000 else args.events // 10
        row = {"idle_connections": idle, "rooms": 5, "members": 20, "events": events}
        for name, cls in (("channels", Stock), ("chatsite.layers", Lean)):
            row[f"{name}_us_per_delivery"] = round(asyncio.run(measure(cls(capacity=1000), 5, 20, idle, events)), 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
