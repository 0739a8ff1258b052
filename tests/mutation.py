"""A pytest plugin for mutation runs only (scripts/mutate loads it with `-p tests.mutation`).

mutmut runs the tests many times in one process and in processes forked from it, after Django's
settings were read: their "one test database per process" name (chatsite/settings.py) would then
be shared by the forks, and reused by the next session while the last one's WAL file is still
there. Each session gets a database file of its own instead, and starts without the database
connections the last one left in the database thread (one left inside a transaction by a test
that cancelled a socket mid-way is never closed, and would still point at the last session's
file).

Migrating a fresh test database costs seconds, more than most mutants' tests: the first session
keeps its migrated (and by then emptied) database as a template, and every later session starts
from a copy of it (pytest-django's --reuse-db then only checks that nothing is left to migrate).
mutmut runs each mutant's tests in a process forked from one that ran tests already: see
_database_thread_after_fork.
"""
import asyncio
import hashlib
import itertools
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_sessions = itertools.count()
_own = {}


def _database_thread_after_fork():
    """A forked process has only the thread that forked: asgiref's database thread (where
    database_sync_to_async runs) is not there, and its executor would queue work for it forever."""
    from asgiref.sync import SyncToAsync

    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    SyncToAsync.context_to_thread_executor.clear()


os.register_at_fork(after_in_child=_database_thread_after_fork)


def _template(var_dir):
    """The template's path, named after the migrations, so a new migration makes a new one."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.glob("*/migrations/*.py")):
        digest.update(path.read_bytes())
    return Path(var_dir) / f"mutation-template-{digest.hexdigest()[:12]}.sqlite3"


def pytest_configure(config):
    from django.conf import settings
    from django.db import connections

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return
    name = Path(settings.VAR_DIR) / f"mutation-{os.getpid()}-{next(_sessions)}.sqlite3"
    for options in (database, connections["default"].settings_dict):
        options.setdefault("TEST", {})["NAME"] = str(name)
    template = _template(settings.VAR_DIR)
    if template.exists():
        shutil.copyfile(template, name)
    config.option.reuse_db = True  # keep (and on the first session, make) the file: see above
    _own.update(name=name, template=template)


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
    from asgiref.sync import sync_to_async

    if not _own:
        return
    _forget_connections()
    asyncio.run(sync_to_async(_forget_connections)())
    name, template = _own.pop("name"), _own.pop("template")
    if not template.exists() and name.exists():
        partial = template.with_suffix(f".{os.getpid()}.partial")
        shutil.copyfile(name, partial)
        partial.rename(template)
    for path in name.parent.glob(name.name + "*"):
        path.unlink(missing_ok=True)
