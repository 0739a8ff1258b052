"""The reads behind the room page, hello and sync stay cheap however long a room grows."""
import pytest
from django.db import connection

from rooms import selectors, services
from rooms.models import Message
from tests.conftest import send_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_room():
    room, author = services.room_create(), services.identity_create(name="Ann")
    Message.objects.bulk_create(
        Message(room=room, author=author, body=f"m{n}", seq=n) for n in range(1, 301)
    )
    room.seq = 300
    room.save()
    return room


def test_the_latest_page_costs_one_query(busy_room, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows, has_more = selectors.messages_latest(busy_room)
        assert [m.author.name for m in rows][:1] == ["Ann"]
    assert [m.seq for m in rows] == list(range(251, 301)) and has_more


def test_changes_after_costs_one_query_per_kind_of_change_and_one_for_the_seq(busy_room, django_assert_num_queries):
    with django_assert_num_queries(6):  # the room's seq; new, deleted, edited, reacted messages; room and member changes (moderation)
        seq, changes, has_more = selectors.changes_after(busy_room, 290)
    assert seq == 300 and [c["seq"] for c in changes] == list(range(291, 301)) and not has_more


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_a_message_created_and_deleted_since_after_shows_only_as_its_deletion(busy_room):
    author = Message.objects.first().author
    frame, _ = send_message(room=busy_room, author=author, body="gone soon")
    services.message_delete(message=Message.objects.get(id=frame["id"]))
    seq, changes, _ = selectors.changes_after(busy_room, 300)
    assert changes == [{"type": "delete", "id": frame["id"], "seq": 302}] and seq == 302


@pytest.mark.skipif(connection.vendor != "sqlite", reason="query plans differ by database; checked on SQLite")
@pytest.mark.parametrize("order", ["seq", "-seq"])
def test_the_latest_page_and_after_search_the_room_seq_index_instead_of_scanning(busy_room, order):
    plan = Message.objects.in_room(busy_room).visible().after_seq(10).order_by(order)[:50].explain()
    assert "USING INDEX" in plan and "(room_id=? AND seq>?)" in plan
    assert "TEMP B-TREE" not in plan  # no sort of the whole room's history


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_changes_after_many_rooms_at_once_are_each_rooms_changes_after(settings):
    from rooms.models import Room

    settings.CHAT_SYNC_MAX = 6
    author = services.identity_create(name="Writer")
    rooms = [services.room_create(), services.room_create()]
    for room in rooms:
        sent = [send_message(room=room, author=author, body=f"{room.code} {n}")[0] for n in range(8)]
        services.message_delete(message=room.messages.get(id=sent[2]["id"]))
        services.message_edit(room=room, identity=author, message_id=sent[5]["id"], body="changed")
        services.message_react(room=room, identity=author, message_id=sent[6]["id"], emoji="👍")
    rooms = list(Room.objects.filter(pk__in=[r.pk for r in rooms]))
    pairs = {(room, after) for room in rooms for after in (0, 3, 9, 11)}  # after 0: longer than the limit
    many = selectors.changes_after_many(pairs)
    for room, after in pairs:
        assert many[room.id, after] == selectors.changes_after(room, after), (room.code, after)
