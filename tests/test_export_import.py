"""Export a room as JSON Lines or Markdown (GET /rooms/<CODE>/export/, manage.py export_room) and
import it back (manage.py import_room): the round trip gives the same file, on SQLite and on
PostgreSQL, and a malformed file is refused whole, naming its line."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rooms import httplimits, services
from rooms.models import Identity, Message, Room

pytestmark = pytest.mark.django_db


def _post(room, author, body, reply_to=None):
    results, _ = services.messages_store(requests=[services.MessageRequest(room, author, body, reply_to=reply_to)])
    return results[0][0]["id"]


@pytest.fixture
def history(room, alice, bob):
    """A room with every kind of change: plain, edited, deleted, reacted, replies, a mention."""
    first = _post(room, alice, "Hello **everyone**\nsecond line")
    question = _post(room, bob, "Who wants café? 東京 🎉")
    _post(room, alice, "@Bob me!", reply_to=question)
    oops = _post(room, bob, "oops")
    _post(room, bob, "a reply to what is deleted next", reply_to=oops)
    services.message_edit(room=room, identity=alice, message_id=first, body="Hello everyone (edited)")
    services.message_react(room=room, identity=bob, message_id=first, emoji="👍")
    services.message_react(room=room, identity=alice, message_id=first, emoji="👍")
    services.message_delete(message=Message.objects.get(id=oops))
    return room


def _export(code, *args):
    out = StringIO()
    call_command("export_room", code, *args, stdout=out)
    return out.getvalue()


def _import(path, *args):
    out = StringIO()
    call_command("import_room", str(path), *args, stdout=out)
    return out.getvalue()


def test_each_message_is_one_line_in_seq_order_as_the_protocol_shows_it(history, alice, bob):
    lines = [json.loads(line) for line in _export(history.code).splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5]
    first, question, answer, oops, late = lines
    assert first["body"] == "Hello everyone (edited)" and first["edited_at"] and first["edited_seq"] == 6
    assert first["reactions"] == [{"emoji": "👍", "count": 2, "members": [bob.public_id, alice.public_id]}]
    assert first["reactions_seq"] == 8
    assert answer["reply_to"] == {"seq": 2, "author": {"id": bob.public_id, "name": "Bob", "avatar": f"/avatars/{bob.public_id}.svg"},
                                  "excerpt": "Who wants café? 東京 🎉"}
    assert answer["mentions"] == [bob.public_id]
    assert oops["body"] == "" and oops["deleted_seq"] == 9
    assert late["reply_to"]["seq"] == 4 and late["reply_to"]["excerpt"] is None
    assert all("id" not in line and "client_id" not in line for line in lines)


def test_after_leaves_out_the_older_messages(history):
    assert [json.loads(line)["seq"] for line in _export(history.code, "--after", "3").splitlines()] == [4, 5]


def test_markdown_shows_names_times_bodies_replies_and_reactions(history):
    text = _export(history.code, "--format", "md")
    assert text.startswith(f"# Room {history.code}\n")
    assert "**Alice** · " in text and "Hello everyone (edited)" in text and "· edited" in text
    assert "> ↪ Bob #2: Who wants café? 東京 🎉" in text
    assert "👍 2" in text and "_message deleted_" in text and "oops" not in text


def test_export_then_import_then_export_gives_the_same_file(history, tmp_path):
    exported = _export(history.code)
    path = tmp_path / "room.jsonl"
    path.write_text(exported, encoding="utf-8")
    said = _import(path, "--code", "MOVE")
    assert "MOVE" in said
    assert _export("MOVE") == exported
    moved = Room.objects.get(code="MOVE")
    assert moved.seq == Room.objects.get(pk=history.pk).seq
    replies = Message.objects.filter(room=moved, reply_to__isnull=False).select_related("reply_to")
    assert {m.seq: m.reply_to.seq for m in replies} == {3: 2, 5: 4}
    assert all(m.reply_to.room_id == moved.id for m in replies)


def test_an_import_creates_the_authors_it_does_not_know(history, tmp_path):
    exported = _export(history.code)
    path = tmp_path / "room.jsonl"
    path.write_text(exported, encoding="utf-8")
    alice_id = Identity.objects.get(name="Alice").public_id
    Message.objects.all().delete()
    Identity.objects.all().delete()
    _import(path, "--code", "BACK")
    assert Identity.objects.get(public_id=alice_id).name == "Alice"
    assert _export("BACK") == exported


def test_an_imported_room_is_searchable_and_writable(history, tmp_path, alice):
    from rooms import search

    path = tmp_path / "room.jsonl"
    path.write_text(_export(history.code), encoding="utf-8")
    _import(path, "--code", "FIND")
    moved = Room.objects.get(code="FIND")
    assert [h.message.seq for h in search.search_room(moved, "café")[0]] == [2]
    results, _ = services.messages_store(requests=[services.MessageRequest(moved, alice, "after the move")])
    assert results[0][0]["seq"] == moved.seq + 1


@pytest.mark.parametrize("bad_line, reason", [
    ("not json", "not JSON"),
    ('["a list"]', "JSON object"),
    ('{"type": "message", "seq": 2}', "'seq' must be a whole number above"),
    ('{"type": "message", "seq": 99, "body": 5}', "'body' must be text"),
    ('{"type": "message", "seq": 99, "body": "x", "author": {"id": "a", "name": "A"}, "sent_at": "yesterday"}', "not a time"),
    ('{"type": "message", "seq": 99, "body": "x", "author": {"id": "a", "name": "A"}, "sent_at": "2026-01-01T00:00:00Z", '
     '"reply_to": {"seq": 98}}', "'reply_to'"),
])
def test_a_malformed_file_is_refused_naming_the_line_and_nothing_changes(history, tmp_path, bad_line, reason):
    lines = _export(history.code).splitlines()
    lines.insert(3, bad_line)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = (Room.objects.count(), Message.objects.count(), Identity.objects.count())
    with pytest.raises(CommandError) as refused:
        _import(path, "--code", "NOPE")
    assert "line 4:" in str(refused.value) and reason in str(refused.value)
    assert (Room.objects.count(), Message.objects.count(), Identity.objects.count()) == before


def test_an_import_into_a_code_that_is_taken_is_refused(history, tmp_path):
    path = tmp_path / "room.jsonl"
    path.write_text(_export(history.code), encoding="utf-8")
    with pytest.raises(CommandError, match="already"):
        _import(path, "--code", history.code)
    with pytest.raises(CommandError, match="not a room code"):
        _import(path, "--code", "LOBBY")


def test_a_file_that_is_not_utf8_is_refused(db, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"type": "message", "body": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        _import(path)
    assert not Room.objects.exists()


async def _body(response):
    """The whole streamed body; then the response is closed, as the server closes it."""
    from asgiref.sync import sync_to_async

    try:
        return b"".join([chunk async for chunk in response.streaming_content])
    finally:
        await sync_to_async(response.close)()


@pytest.mark.django_db(transaction=True)
async def test_the_export_page_streams_the_same_lines_as_the_command(async_client):
    from asgiref.sync import sync_to_async

    room = await sync_to_async(services.room_create)()
    author = await sync_to_async(services.identity_create)(name="Ann")
    for n in range(2500):  # more than one keyset page
        await sync_to_async(_post)(room, author, f"line {n}")
    response = await async_client.get(f"/rooms/{room.code}/export/", {"format": "jsonl"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="room-{room.code}.jsonl"'
    body = (await _body(response)).decode()
    assert body == await sync_to_async(_export)(room.code)
    assert len(body.splitlines()) == 2500


@pytest.mark.django_db(transaction=True)
async def test_a_bad_format_is_a_400(async_client, room):
    response = await async_client.get(f"/rooms/{room.code}/export/", {"format": "pdf"})
    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
async def test_exports_at_once_per_address_are_bounded(async_client, room, settings):
    settings.CHAT_EXPORTS_PER_ADDRESS = 1
    first = await async_client.get(f"/rooms/{room.code}/export/")
    assert first.status_code == 200
    second = await async_client.get(f"/rooms/{room.code}/export/")
    assert second.status_code == 429 and second["Retry-After"]
    await _body(first)
    third = await async_client.get(f"/rooms/{room.code}/export/")
    assert third.status_code == 200
    await _body(third)


def test_an_export_slot_is_given_back_once():
    slot = httplimits.export_slot("192.0.2.1")
    slot.release()
    slot.release()
    assert httplimits._limits().exports == {}
