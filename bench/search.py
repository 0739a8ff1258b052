"""Search speed: rooms/search.py with 1k, 100k and 1M stored messages in one room, on SQLite and
PostgreSQL, in process (the database's time and ours, no HTTP).

    python -m bench.search --db sqlite --sizes 1000 100000 1000000
    python -m bench.search --db postgres --sizes 1000 100000 1000000

Uses its own database (a file under /tmp; PostgreSQL database `findexp_bench`, made afresh).
Bodies are 10 words drawn from a 30,000-word vocabulary with Zipf's law (like real text: a few
words in most messages, most words rare), the same on both databases; rows are written with
the driver's bulk path (executemany on SQLite, COPY on PostgreSQL) and the index fills through
the same trigger or generated column the app uses. Prints one JSON object per size and query.
"""
import argparse
import bisect
import itertools
import json
import os
import random
import statistics
import sys
import time

VOCABULARY = 30_000
WORDS_PER_MESSAGE = 10
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def word(rank):
    """A pronounceable word for a vocabulary rank (1 is the most frequent)."""
    letters, n = [], rank + 70
    while n:
        n, digit = divmod(n, len(SYLLABLES))
        letters.append(SYLLABLES[digit])
    return "".join(letters)


def bodies(count, seed=16):
    weights = list(itertools.accumulate(1 / rank for rank in range(1, VOCABULARY + 1)))
    total = weights[-1]
    words = [word(rank) for rank in range(1, VOCABULARY + 1)]
    rng = random.Random(seed)
    for _ in range(count):
        yield " ".join(words[bisect.bisect(weights, rng.random() * total)] for _ in range(WORDS_PER_MESSAGE))


QUERIES = {
    "common word (in ~60% of messages)": word(1),
    "middling word (~1%)": word(100),
    "rare word (~0.005%)": word(20_000),
    "absent word": "zzzzzz",
    "phrase of two common words": f'"{word(1)} {word(2)}"',
    "common minus middling": f"{word(1)} -{word(100)}",
    "rare or rare": f"{word(20_000)} or {word(20_001)}",
    "two middling words": f"{word(100)} {word(101)}",
}


def setup(db):
    if db == "sqlite":
        path = "/tmp/findexp-bench-search.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS findexp_bench")
            admin.execute("CREATE DATABASE findexp_bench")
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/findexp_bench"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(room, author, have, upto):
    """Add messages seq have+1..upto to the room with the driver's bulk path."""
    from django.db import connection
    from django.utils import timezone

    from rooms.models import Room

    now = timezone.now()
    rows = ((room.id, author.id, body, now, seq) for seq, body in zip(range(have + 1, upto + 1), bodies(upto - have, seed=have), strict=True))
    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor == "sqlite":
        sent = connection.ops.adapt_datetimefield_value(now)
        with raw:
            raw.executemany("INSERT INTO rooms_message (room_id, author_id, body, sent_at, seq) VALUES (?, ?, ?, ?, ?)",
                            ((r, a, b, sent, s) for r, a, b, _, s in rows))
    else:
        with raw.cursor() as cursor, cursor.copy("COPY rooms_message (room_id, author_id, body, sent_at, seq) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        with raw.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE rooms_message")
    Room.objects.filter(pk=room.pk).update(seq=upto)


def percentile(values, pct):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args(argv)
    setup(args.db)
    from rooms import search, services

    room, author = services.room_create(), services.identity_create(name="Bench")
    have = 0
    for size in sorted(args.sizes):
        t0 = time.perf_counter()
        fill(room, author, have, size)
        have = size
        fill_s = time.perf_counter() - t0
        all_samples = []
        for label, query in QUERIES.items():
            hits, _ = search.search_room(room, query)  # warm
            samples = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                search.search_room(room, query)
                samples.append((time.perf_counter() - t) * 1000)
            all_samples += samples
            print(json.dumps({"db": args.db, "messages": size, "query": label, "hits_on_page": len(hits),
                              "median_ms": round(statistics.median(samples), 2), "p95_ms": round(percentile(samples, 95), 2)}))
        print(json.dumps({"db": args.db, "messages": size, "query": "ALL", "fill_s": round(fill_s, 1),
                          "median_ms": round(statistics.median(all_samples), 2),
                          "p95_ms": round(percentile(all_samples, 95), 2)}), flush=True)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
