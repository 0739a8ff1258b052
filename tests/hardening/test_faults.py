"""Faults: the database locked or gone for a moment, a consumer killed mid-way. The socket answers `unavailable` or closes
cleanly, and no message the server acknowledged is lost."""
import asyncio
import sqlite3
import threading
import time

import pytest
from channels.db import database_sync_to_async as db
from django.db import OperationalError, connection

from rooms import selectors, services
from rooms.models import Message, Presence
from tests.hardening.conftest import read_until_close

pytestmark = pytest.mark.django_db(transaction=True)


def failing_once(function, error):
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise error
        return function(*args, **kwargs)

    return flaky


@pytest.mark.parametrize(
    "error",
    [OperationalError("database is locked"), OperationalError("server closed the connection unexpectedly")],
    ids=["locked", "gone"],
)
async def test_a_failed_write_answers_unavailable_and_a_resend_stores_the_message_once(connect, room, alice, monkeypatch, error):
    # Messages are stored in batches (rooms/live/writer.py through services.messages_store).
    monkeypatch.setattr(services, "messages_store", failing_once(services.messages_store, error))
    client = await connect(room.code, alice)
    await client.send({"type": "message", "body": "important", "client_id": "c-1"})
    assert (await client.receive_type("error"))["code"] == "unavailable"
    await client.send({"type": "message", "body": "important", "client_id": "c-1"})
    assert (await client.receive_type("message"))["client_id"] == "c-1"
    assert await db(Message.objects.filter(client_id="c-1").count)() == 1


async def test_a_failed_read_answers_unavailable(connect, room, alice, monkeypatch):
    monkeypatch.setattr(selectors, "changes_after", failing_once(selectors.changes_after, OperationalError("database is locked")))
    client = await connect(room.code, alice)
    await client.send({"type": "sync", "after": 0})
    assert (await client.receive_type("error"))["code"] == "unavailable"
    await client.send({"type": "sync", "after": 0})
    assert (await client.receive_type("sync"))["type"] == "sync"


async def test_a_database_outage_at_connect_closes_cleanly_with_try_again_later(open_socket, room, monkeypatch):
    monkeypatch.setattr(selectors, "rooms_by_codes", failing_once(selectors.rooms_by_codes, OperationalError("gone")))
    client = await open_socket(room.code)
    if client.connected:
        frames, code = await read_until_close(client)
    else:
        code = client.close_code
    assert code == 1013
    retry = await open_socket(room.code)
    assert (await retry.receive())["type"] == "hello"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="holds SQLite's file lock")
async def test_a_message_sent_while_another_process_holds_the_write_lock_is_stored_after_it(connect, room, alice, bob):
    path = connection.settings_dict["NAME"]
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        other = sqlite3.connect(path, timeout=5)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(5)
        other.rollback()
        other.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait(5)
    started = time.monotonic()
    await a.send({"type": "message", "body": "waited for the lock", "client_id": "lock-1"})
    threading.Timer(0.5, release.set).start()
    assert (await b.receive_type("message", timeout=10))["body"] == "waited for the lock"
    assert time.monotonic() - started >= 0.4
    holder.join()
    assert await db(Message.objects.filter(client_id="lock-1").count)() == 1


async def test_a_consumer_killed_mid_way_leaves_no_ghost_member(connect, room, alice, bob, settings):
    # daphne cancels an application that has not finished application_close_timeout (10 s) after
    # its client left, e.g. one still working through a backlog of frames: no disconnect() runs.
    settings.CHAT_TICK_SECONDS = 0.2
    settings.CHAT_HEARTBEAT_SECONDS = 0.2
    settings.CHAT_PRESENCE_TIMEOUT = 2
    killed = await connect(room.code, alice)
    watcher = await connect(room.code, bob)
    killed.communicator.future.cancel()
    try:
        await killed.communicator.future
    except asyncio.CancelledError:
        pass
    killed.closed = True
    assert await left_within(watcher, alice, seconds=8)
    assert await db(Presence.objects.filter(identity=alice).count)() == 0
    assert await db(Presence.objects.filter(identity=bob).count)() == 1


async def left_within(watcher, identity, seconds):
    """Whether `watcher` hears `identity` leave within `seconds` (ticks keep arriving meanwhile)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            frame = await watcher.receive(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            return False
        if frame["type"] == "leave" and frame["member"]["id"] == identity.public_id:
            return True
    return False
