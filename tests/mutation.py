"""A pytest plugin for mutation runs only (scripts/mutate loads it with `-p tests.mutation`).

mutmut runs the tests many times in one process and in processes forked from it, after Django's
settings were read: their "one test database per process" name (chatsite/settings.py) would then
be shared by the forks, and reused by the next session while the last one's WAL file is still
there. Each session gets a database file of its own instead, and starts without the database
connections the last one left in the database thread (one left inside a transaction by a test
that cancelled a socket mid-way is never closed, and would still point at the last session's
file).
"""
import asyncio
import itertools
import os
from pathlib import Path

_sessions = itertools.count()


def pytest_configure(config):
    from django.conf import settings
    from django.db import connections

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return
    name = str(Path(settings.VAR_DIR) / f"mutation-{os.getpid()}-{next(_sessions)}.sqlite3")
    for options in (database, connections["default"].settings_dict):
        options.setdefault("TEST", {})["NAME"] = name
        options["CONN_MAX_AGE"] = 0


def _forget_connections():
    from django.db import connections

    for alias in connections:
        connection = connections[alias]
        connection.in_atomic_block = False  # let close() really close it
        connection.close()
        del connections[alias]


def pytest_sessionstart(session):
    from asgiref.sync import sync_to_async

    _forget_connections()
    asyncio.run(sync_to_async(_forget_connections)())  # on the database thread


def pytest_unconfigure(config):
    from django.conf import settings

    for path in Path(settings.VAR_DIR).glob(f"mutation-{os.getpid()}-*"):
        path.unlink(missing_ok=True)
