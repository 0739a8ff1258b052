"""The hot write path in plain SQL: which client_ids are stored, seqs, authors' names and message rows for a batch.

The ORM spent about 3 ms of CPU per stored message here (four compiled queries). These
statements go to the database driver's own cursor: Django's cursor wrapper (placeholder
rewriting, execute wrappers, a new wrapper per query) cost more than SQLite took to run them,
about two thirds of a batch's CPU (measured in docs/benchmarks.md). Driver errors still reach
callers as Django's DatabaseError, and the caller's transaction.atomic() still owns the
transaction. Both SQLite (3.35+) and PostgreSQL run them as written.
"""
import hashlib

from django.db import connection

from rooms.models import Identity, Membership, Message, Presence, Room

_IDENTITY = Identity._meta.db_table
_MEMBERSHIP = Membership._meta.db_table
_MESSAGE = Message._meta.db_table
_PRESENCE = Presence._meta.db_table
_ROOM = Room._meta.db_table


def _run(sql, params, rows=True):
    """Rows of one statement written with %s placeholders, on the driver's cursor."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        sql = sql.replace("%s", "?")
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall() if rows else None
        finally:
            cursor.close()


def take_seqs(room_id, count):
    """Reserve `count` consecutive seqs of a room; the row stays locked until the transaction ends."""
    last = _run(f'UPDATE "{_ROOM}" SET seq = seq + %s WHERE id = %s RETURNING seq', (count, room_id))[0][0]
    return last - count + 1


def lock_member(room_id, public_id):
    """Hold one member of one room until the transaction ends, so that two sockets of the same
    person opening or closing together decide their join and leave one after the other.

    PostgreSQL: a transaction-level advisory lock on a hash of the pair. SQLite: nothing to do,
    an IMMEDIATE transaction already holds the whole database's write lock."""
    lock_members([(room_id, public_id)])


def lock_members(pairs):
    """lock_member for many (room_id, public_id) pairs in one statement, in one global order
    (by key), so that two workers locking overlapping sets cannot deadlock."""
    if connection.vendor != "postgresql" or not pairs:
        return
    keys = sorted({
        int.from_bytes(hashlib.blake2b(f"{room_id}:{public_id}".encode(), digest_size=8).digest(), "big", signed=True)
        for room_id, public_id in pairs
    })
    _run("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", (keys,), rows=False)  # in array order


def give_back_seqs(room_id, first, message_ids):
    """Undo a batch's insert: delete its rows and set the room's seq back to before `first`.

    Only while the transaction that took the seqs still holds the room's row (take_seqs locks
    it), so no other writer has taken a seq after them."""
    if message_ids:
        _run(f'DELETE FROM "{_MESSAGE}" WHERE id IN ({", ".join(["%s"] * len(message_ids))})', message_ids, rows=False)
    _run(f'UPDATE "{_ROOM}" SET seq = %s WHERE id = %s', (first - 1, room_id), rows=False)


def identity_names(identity_ids):
    """{id: name} of these identities, as they are now: one query for a batch's authors."""
    if not identity_ids:
        return {}
    ids = sorted(identity_ids)
    return dict(_run(f'SELECT id, name FROM "{_IDENTITY}" WHERE id IN ({", ".join(["%s"] * len(ids))})', ids))


MESSAGE_COLUMNS = ("room_id", "author_id", "body", "sent_at", "client_id", "seq", "reply_to_id", "mentions")


def insert_messages(rows):
    """Insert rows of MESSAGE_COLUMNS; returns {seq: id} of those stored.

    A row whose (author, client_id) is already stored (a resend racing on another worker) is
    skipped rather than failing the whole batch.
    """
    if not rows:
        return {}
    width = len(MESSAGE_COLUMNS)
    values = ", ".join([f"({', '.join(['%s'] * width)})"] * len(rows))
    params = [value for row in rows for value in row]
    sent_at = connection.ops.adapt_datetimefield_value
    for index in range(MESSAGE_COLUMNS.index("sent_at"), len(params), width):
        params[index] = sent_at(params[index])
    sql = (
        f'INSERT INTO "{_MESSAGE}" ({", ".join(MESSAGE_COLUMNS)}) VALUES {values} '
        "ON CONFLICT (author_id, client_id) WHERE client_id IS NOT NULL DO NOTHING RETURNING seq, id"
    )
    return dict(_run(sql, params))


def mentionable(room_id, keys):
    """{name key: [public id]} of the members with these name keys that are present in the room
    or wrote in it: who an @mention there can reach. Index lookups only (the presence (room,
    name_key) index, name_key, the message (author, room) index); plain SQL because the
    ORM's compile of the same query cost ten times its run (about 2 ms per mentioning message)."""
    if not keys:
        return {}
    keys = sorted(keys)
    marks = ", ".join(["%s"] * len(keys))
    sql = (
        # Present now (with or without an identity row: rooms/identities.py), by the presence row's key...
        f'SELECT p.name_key, p.public_id FROM "{_PRESENCE}" p WHERE p.room_id = %s AND p.name_key IN ({marks}) '
        "UNION "
        # ...or wrote in the room.
        f'SELECT i.name_key, i.public_id FROM "{_IDENTITY}" i WHERE i.name_key IN ({marks}) '
        f'AND EXISTS (SELECT 1 FROM "{_MESSAGE}" m WHERE m.author_id = i.id AND m.room_id = %s) '
        "ORDER BY 2"
    )
    found = {}
    for key, public_id in _run(sql, [room_id, *keys, *keys, room_id]):
        found.setdefault(key, []).append(public_id)
    return found


def read_upto(room_id, identity_id, seq):
    """Move the identity's last read seq in the room up to `seq`: the new seq, or None if it
    was there or beyond already (a read never moves back). One statement, race-free."""
    sql = (
        f'INSERT INTO "{_MEMBERSHIP}" (room_id, identity_id, last_read) VALUES (%s, %s, %s) '
        "ON CONFLICT (room_id, identity_id) DO UPDATE SET last_read = excluded.last_read "
        f'WHERE "{_MEMBERSHIP}".last_read < excluded.last_read RETURNING last_read'
    )
    rows = _run(sql, (room_id, identity_id, seq))
    return rows[0][0] if rows else None


def client_ids_taken(pairs):
    """Which of these (author_id, client_id) pairs are already stored: one indexed query, no rows built.

    Every message carries a client_id, so every batch asks this; a resend (the only case with an
    answer) is rare, and only then does the caller load the stored rows.
    """
    if not pairs:
        return set()
    return {(author, client_id) for author, client_id in _run(*client_ids_query(pairs))} & set(pairs)


def client_ids_query(pairs):
    """The statement behind client_ids_taken, as (sql with %s placeholders, params).

    No `client_id IS NOT NULL` in it: the IN implies that already, and with it SQLite searched
    the partial unique index by (author_id, client_id > NULL), reading every message the author
    ever sent, so sending got slower the more a person had written.
    """
    authors = sorted({author for author, _ in pairs})
    client_ids = sorted({client_id for _, client_id in pairs})
    sql = (
        f'SELECT author_id, client_id FROM "{_MESSAGE}" '
        f"WHERE client_id IN ({', '.join(['%s'] * len(client_ids))}) "
        f"AND author_id IN ({', '.join(['%s'] * len(authors))})"
    )
    return sql, client_ids + authors
