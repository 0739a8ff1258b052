"""Bring a room's JSON Lines export (rooms/export.py) back as a new room: `manage.py import_room`.

The file is read twice: once to check every line (nothing is written while any line is wrong,
and the error names the line), then again to write it all in one transaction. What stays:
every message's seq and its edit, reaction and delete seqs (so `?after=` and `sync` from any seq
a client kept still answer right), times, bodies, reactions, mentions and replies (by seq).
The room's seq is the highest seq in the file. Authors are matched by public id: an identity
this server knows stays as it is, one it does not is created with the name in the file. Ids and
client_ids are this server's own. Exporting the imported room gives the same file.
"""
import json
from array import array
from bisect import bisect_left
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from rooms import avatars, codes, lobby, names, services
from rooms.models import Identity, Message, Room

BATCH = 1000
COLUMNS = ("room_id", "author_id", "body", "sent_at", "seq", "mentions", "edited_at", "edited_seq",
           "reactions", "reactions_seq", "deleted_seq")


class ImportRefused(ValueError):
    """The file cannot be imported; the text names the line and what is wrong with it."""


def _fail(number, detail):
    raise ImportRefused(f"line {number}: {detail}")


def _time(number, obj, name, required):
    value = obj.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        _fail(number, f"'{name}' must be a time (ISO 8601)")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(number, f"'{name}' is not a time: {value[:40]!r}")
    if moment.tzinfo is None:
        _fail(number, f"'{name}' needs a time zone")
    return moment


def _int(number, obj, name, above):
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= above:
        _fail(number, f"'{name}' must be null or a whole number above {above}")
    return value


def _author(number, value):
    if not isinstance(value, dict):
        _fail(number, "'author' must be an object")
    public_id, name = value.get("id"), value.get("name")
    if not isinstance(public_id, str) or not 0 < len(public_id) <= 32:
        _fail(number, "'author.id' must be a public id (1 to 32 characters)")
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        _fail(number, "'author.name' must be a name (1 to 64 characters)")
    return public_id, name


def _reactions(number, value):
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        _fail(number, "'reactions' must be a list")
    for reaction in value:
        if (not isinstance(reaction, dict) or not isinstance(reaction.get("emoji"), str)
                or not isinstance(reaction.get("count"), int) or not isinstance(reaction.get("members"), list)
                or not all(isinstance(m, str) for m in reaction["members"])):
            _fail(number, "each reaction must be {\"emoji\": text, \"count\": number, \"members\": [ids]}")
    return value


def parse_line(number, text, seen_seqs, last_seq):
    """One line -> a dict of what to store. Raises ImportRefused naming the line."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        _fail(number, f"not JSON ({exc.msg})")
    if not isinstance(obj, dict) or obj.get("type") != "message":
        _fail(number, "must be a JSON object with \"type\": \"message\"")
    seq = obj.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq <= last_seq:
        _fail(number, f"'seq' must be a whole number above the previous line's ({last_seq})")
    body = obj.get("body")
    if not isinstance(body, str):
        _fail(number, "'body' must be text")
    mentions = obj.get("mentions", [])
    if not isinstance(mentions, list) or not all(isinstance(m, str) and m for m in mentions):
        _fail(number, "'mentions' must be a list of ids")
    row = {
        "seq": seq,
        "author": _author(number, obj.get("author")),
        "body": body,
        "sent_at": _time(number, obj, "sent_at", required=True),
        "edited_at": _time(number, obj, "edited_at", required=False),
        "edited_seq": _int(number, obj, "edited_seq", seq),
        "reactions": _reactions(number, obj.get("reactions")),
        "reactions_seq": _int(number, obj, "reactions_seq", seq),
        "deleted_seq": _int(number, obj, "deleted_seq", seq),
        "mentions": " ".join(mentions) or None,
        "reply_to": None,
    }
    if row["deleted_seq"] is not None and body:
        _fail(number, "a deleted message ('deleted_seq' set) has an empty body")
    reply_to = obj.get("reply_to")
    if reply_to is not None:
        original = reply_to.get("seq") if isinstance(reply_to, dict) else None
        if not isinstance(original, int) or original not in seen_seqs:
            _fail(number, "'reply_to' must be null or name an earlier message by its 'seq'")
        row["reply_to"] = original
    return row


def _lines(path):
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if text.strip():
                yield number, text


class _Seqs:
    """The seqs read so far, in the increasing order the file must have: 8 bytes each."""

    def __init__(self):
        self.seqs = array("q")

    def add(self, seq):
        self.seqs.append(seq)

    def __contains__(self, seq):
        at = bisect_left(self.seqs, seq)
        return at < len(self.seqs) and self.seqs[at] == seq


def _rows(path):
    """(line number, row) for every line of the file, checked. Raises ImportRefused."""
    seen, last = _Seqs(), 0
    try:
        for number, text in _lines(path):
            row = parse_line(number, text, seen, last)
            seen.add(row["seq"])
            last = row["seq"]
            yield number, row
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"the file is not UTF-8 text ({exc.reason})") from None


def validate(path):
    """Check every line; returns (message count, {public id: name}). Raises ImportRefused."""
    authors, count = {}, 0
    for _, row in _rows(path):
        authors.setdefault(*row["author"])
        count += 1
    if not count:
        raise ImportRefused("the file has no messages")
    return count, authors


def _room(code):
    if code is None:
        return services.room_create()
    code = codes.normalize_code(code)
    if not codes.looks_like_code(code) or lobby.is_lobby_code(code):
        raise ImportRefused(f"{code[:16]!r} is not a room code a new room can have")
    if Room.objects.filter(code=code).exists():
        raise ImportRefused(f"there is a room {code} already")
    return Room.objects.create(code=code)


def _identities(authors):
    """{public id: identity pk}: the ones known, and the others made with the file's names."""
    known = dict(Identity.objects.filter(public_id__in=list(authors)).values_list("public_id", "pk"))
    now = timezone.now()
    missing = [
        Identity(public_id=public_id, name=name, name_key=names.name_key(name), avatar_seed=avatars.new_seed(),
                 acted_at=now)
        for public_id, name in authors.items() if public_id not in known
    ]
    Identity.objects.bulk_create(missing)
    return dict(Identity.objects.filter(public_id__in=list(authors)).values_list("public_id", "pk"))


def _insert(cursor, room, rows, identity_pks):
    fields = [Message._meta.get_field(name.removesuffix("_id")) for name in COLUMNS]
    values = []
    for row in rows:
        raw = (room.id, identity_pks[row["author"][0]], row["body"], row["sent_at"], row["seq"], row["mentions"],
               row["edited_at"], row["edited_seq"], row["reactions"], row["reactions_seq"], row["deleted_seq"])
        values.append([field.get_db_prep_save(value, connection) if not field.is_relation else value
                       for field, value in zip(fields, raw, strict=True)])
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    cursor.executemany(f"INSERT INTO {Message._meta.db_table} ({', '.join(COLUMNS)}) VALUES ({placeholders})", values)


def import_room(path, code=None):
    """Import the file as a new room (code `code`, or a new one); returns the room. Raises
    ImportRefused and changes nothing when any line is wrong."""
    _, authors = validate(path)
    with transaction.atomic():
        room = _room(code)
        identity_pks = _identities(authors)
        replies, batch, highest = [], [], 0
        with connection.cursor() as cursor:
            for _, row in _rows(path):
                highest = max(highest, row["seq"], row["edited_seq"] or 0, row["reactions_seq"] or 0,
                              row["deleted_seq"] or 0)
                if row["reply_to"] is not None:
                    replies.append((row["reply_to"], row["seq"]))
                batch.append(row)
                if len(batch) >= BATCH:
                    _insert(cursor, room, batch, identity_pks)
                    batch = []
            if batch:
                _insert(cursor, room, batch, identity_pks)
            table = Message._meta.db_table
            cursor.executemany(
                f"UPDATE {table} SET reply_to_id = (SELECT o.id FROM {table} o WHERE o.room_id = %s AND o.seq = %s) "
                "WHERE room_id = %s AND seq = %s",
                [(room.id, original, room.id, seq) for original, seq in replies],
            )
        Room.objects.filter(pk=room.pk).update(seq=highest)
        room.seq = highest
    return room
