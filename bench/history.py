"""History mode: the room page and a socket's hello, with 1k, 100k and 1M stored messages.

Runs pinned on the load core against a running chatsite. Messages are written straight into the
SQLite file (the ORM would take an hour for a million); the room's seq is moved with them, so
the server sees exactly what a long-lived room would leave. Prints one JSON object per size.
"""
import argparse
import asyncio
import datetime
import json
import sqlite3
import statistics
import time

from bench.loadgen import Chatsite, percentile
from bench.pageflow import Browser


def fill(db_path, room_code, upto, body="stored message number {n} with a few words in it"):
    """Add messages to the room until it holds `upto` (`body` formatted with n); returns the room's seq."""
    with sqlite3.connect(db_path, timeout=60) as db:
        room_id, seq = db.execute("select id, seq from rooms_room where code = ?", (room_code,)).fetchone()
        author_id = db.execute("select id from rooms_identity order by id limit 1").fetchone()[0]
        have = db.execute("select count(*) from rooms_message where room_id = ?", (room_id,)).fetchone()[0]
        columns = db.execute("pragma table_info(rooms_message)").fetchall()
        known = {"room_id": None, "author_id": None, "body": None, "sent_at": None, "seq": None}
        extra = [(c[1], "" if "CHAR" in c[2].upper() or "TEXT" in c[2].upper() else 0)
                 for c in columns if c[3] and c[4] is None and c[1] not in known and c[1] != "id"]
        names = ["room_id", "author_id", "body", "sent_at", "seq"] + [n for n, _ in extra]
        fixed = [v for _, v in extra]
        sql = f"insert into rooms_message ({', '.join(names)}) values ({', '.join('?' * len(names))})"
        start = datetime.datetime(2026, 1, 1)
        batch = []
        for n in range(have, upto):
            seq += 1
            sent = (start + datetime.timedelta(seconds=n)).isoformat(sep=" ")
            batch.append([room_id, author_id, body.format(n=n), sent, seq] + fixed)
            if len(batch) >= 50_000:
                db.executemany(sql, batch)
                batch.clear()
        if batch:
            db.executemany(sql, batch)
        db.execute("update rooms_room set seq = ? where id = ?", (seq, room_id))
    return seq


async def time_hello(browser, port, path, repeat):
    samples = []
    system = Chatsite(browser.host, [port])
    for _ in range(repeat):
        t0 = time.perf_counter()
        client = await browser.ws_connect(path, lambda c, p, t: system.control(c, p, None), lambda c: None)
        await asyncio.wait_for(client.ready, 30)
        samples.append((time.perf_counter() - t0) * 1000)
        client.close()
    return samples


async def time_page(browser, path, repeat):
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        status, _, _ = await browser.request("GET", path)
        samples.append((time.perf_counter() - t0) * 1000)
        assert status == 200, status
    return samples


def summary(samples):
    values = sorted(samples)
    return {"median": round(statistics.median(values), 2), "p90": round(percentile(values, 90), 2)}


async def main_async(args):
    browser = Browser(f"http://127.0.0.1:{args.port}", user_agent="chatsite-bench")
    code, ws_path = await Chatsite("127.0.0.1", [args.port], page=False).enter(browser, 0, None, "historian")
    for size in args.sizes:
        t0 = time.perf_counter()
        seq = fill(args.db, code, size)
        fill_s = time.perf_counter() - t0
        await time_page(browser, f"/rooms/{code}/", 2)  # warm the caches once per size
        page = await time_page(browser, f"/rooms/{code}/", args.repeat)
        latest = await time_hello(browser, args.port, ws_path, args.repeat)
        after = await time_hello(browser, args.port, f"{ws_path}?after={max(0, seq - 50)}", args.repeat)
        print(json.dumps({
            "mode": "history", "stored": size, "fill_s": round(fill_s, 1),
            "page_ms": summary(page), "hello_latest_ms": summary(latest), "hello_after_ms": summary(after),
        }), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 100_000, 1_000_000])
    p.add_argument("--repeat", type=int, default=20)
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
