"""What room moderation costs the message path (issue 15): `services.messages_store` batches
with the moderation check (`moderation.message_refusals`) and without it, on a scratch SQLite
database (or DATABASE_URL), in a plain room and in a room in slow mode with a mute and a ban.

    python -m bench.moderation_cost [--batches 200] [--size 50]

Prints the median CPU+wait time per batch and the queries per batch, with and without the check.
"""
import argparse
import os
import statistics
import tempfile
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--size", type=int, default=50)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rooms import moderation, services

    call_command("migrate", verbosity=0)
    plain = services.room_create()
    guarded = services.room_create()
    people = [services.identity_create(name=f"P{n}") for n in range(max(args.size, 3))][: max(args.size, 3)]
    owner = people[0]
    moderation.room_created(room=guarded, identity=owner)
    moderation.room_settings(room=guarded, actor=moderation.Actor(identity=owner), slowmode=1)
    moderation.mute(room=guarded, actor=moderation.Actor(identity=owner), member_id=people[1].public_id, seconds=600)
    moderation.ban(room=guarded, actor=moderation.Actor(identity=owner), member_id=people[2].public_id, seconds=None)
    real = moderation.message_refusals
    people = people[: args.size]

    def run(room, check):
        moderation.message_refusals = real if check else (lambda requests: {})
        times, queries = [], []
        for n in range(args.batches):
            requests = [services.MessageRequest(room, p, f"m{n}") for p in people]
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                services.messages_store(requests=requests)
                times.append(time.perf_counter() - start)
            queries.append(len(captured.captured_queries))
        moderation.message_refusals = real
        return statistics.median(times) * 1000, statistics.median(queries)

    def check_only(room):
        times, queries = [], []
        requests = [services.MessageRequest(room, p, "x") for p in people]
        for _ in range(args.batches):
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                refused = real(requests)
                times.append(time.perf_counter() - start)
            queries.append(len(captured.captured_queries))
        return statistics.median(times) * 1000, statistics.median(queries), len(refused)

    print(f"{connection.vendor}, batches of {args.size} messages from {args.size} authors, median of {args.batches}")
    print("| what | ms per batch | queries per batch |")
    print("|---|---|---|")
    for check in (False, True):
        ms, count = run(plain, check)
        print(f"| messages_store, plain room, {'with' if check else 'without'} the check | {ms:.2f} | {count:.0f} |")
    ms, count, refused = check_only(plain)
    print(f"| the check alone, plain room | {ms:.2f} | {count:.0f} |")
    ms, count, refused = check_only(guarded)
    print(f"| the check alone, room in slow mode with a mute and a ban ({refused} of {args.size} refused) | {ms:.2f} | {count:.0f} |")


if __name__ == "__main__":
    main()
