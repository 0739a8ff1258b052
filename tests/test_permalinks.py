"""Permalinks: the room page opened at one message, however far back, and its 404s."""
import json

import pytest
from django.db import connection
from django.utils import timezone

from rooms import services, store
from rooms.models import Message, Room
from tests.conftest import identity_of

pytestmark = pytest.mark.django_db


def _bootstrap(response):
    page = response.content.decode()
    start = page.index('<script id="chat-bootstrap" type="application/json">') + len(
        '<script id="chat-bootstrap" type="application/json">'
    )
    return json.loads(page[start : page.index("</script>", start)])


def _seed(room, author, count):
    """`count` messages "m1"… in one statement per thousand: fast enough for a 100,000-message room."""
    now = timezone.now()
    for first in range(1, count + 1, 1000):
        rows = [(room.id, author.id, f"m{n}", now, None, n, None, None) for n in range(first, min(first + 1000, count + 1))]
        store.insert_messages(rows)
    Room.objects.filter(pk=room.pk).update(seq=count)


@pytest.fixture
def seeded(room, alice):
    _seed(room, alice, 300)
    return room


def test_a_permalink_renders_the_room_around_that_message(client, seeded):
    target = Message.objects.get(room=seeded, seq=150)
    response = client.get(f"/rooms/{seeded.code}/m/{target.id}/")
    boot = _bootstrap(response)
    bodies = [m["body"] for m in boot["messages"]]
    assert response.status_code == 200 and "m150" in bodies and len(bodies) == 50
    assert bodies[0] == "m126" and bodies[-1] == "m175"
    assert boot["around"] == target.id and boot["has_more"] and boot["has_more_after"]
    assert boot["seq"] == 300
    assert f'data-id="{target.id}"' in response.content.decode()


def test_a_permalink_in_any_case_redirects_to_the_rooms_code(client, seeded):
    target = Message.objects.get(room=seeded, seq=1)
    response = client.get(f"/rooms/{seeded.code.lower()}/m/{target.id}/")
    assert response.status_code == 302 and response["Location"] == f"/rooms/{seeded.code}/m/{target.id}/"


def test_a_permalink_100000_messages_back_renders_its_neighbours_in_few_queries(
    client, room, alice, django_assert_max_num_queries
):
    _seed(room, alice, 100_050)
    target = Message.objects.get(room=room, seq=25)
    with django_assert_max_num_queries(12):
        response = client.get(f"/rooms/{room.code}/m/{target.id}/")
    bodies = [m["body"] for m in _bootstrap(response)["messages"]]
    assert bodies[:25] == [f"m{n}" for n in range(1, 26)] and "m50" in bodies


def test_a_permalink_to_another_rooms_message_is_a_404_with_a_way_into_the_room(client, seeded, alice):
    other = services.room_create()
    _seed(other, alice, 1)
    elsewhere = Message.objects.get(room=other)
    response = client.get(f"/rooms/{seeded.code}/m/{elsewhere.id}/")
    assert response.status_code == 404
    assert f'href="/rooms/{seeded.code}/"' in response.content.decode()


def test_a_permalink_to_a_deleted_message_is_a_404(client, seeded):
    target = Message.objects.get(room=seeded, seq=10)
    services.message_delete(message=target)
    assert client.get(f"/rooms/{seeded.code}/m/{target.id}/").status_code == 404


def test_a_permalink_into_no_room_is_the_rooms_404(client):
    response = client.get("/rooms/QQQQ/m/1/")
    assert response.status_code == 404 and "There is no room with the code QQQQ" in response.content.decode()


def test_a_missing_message_in_a_real_room_counts_as_no_room_code_guess(client, seeded, settings):
    from rooms.live import guards

    settings.CHAT_CODE_GUESS_LIMIT = "2/300"
    guards.reset()
    for _ in range(3):
        assert client.get(f"/rooms/{seeded.code}/m/999999/").status_code == 404
    assert client.get(f"/rooms/{seeded.code}/").status_code == 200


def test_the_room_page_carries_last_read_and_the_message_frames(client, seeded):
    client.get(f"/rooms/{seeded.code}/")  # gives the browser its identity
    identity = services.identity_store(identity=identity_of(client))  # it acted somewhere: it has a row
    store.read_upto(seeded.id, identity.id, 280)
    boot = _bootstrap(client.get(f"/rooms/{seeded.code}/"))
    assert boot["last_read"] == 280 and boot["around"] is None and not boot["has_more_after"]
    assert boot["messages"][-1]["body"] == "m300" and boot["messages"][-1]["reactions"] == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="query plans differ by database; checked on SQLite")
def test_the_page_around_a_message_reads_the_room_seq_index_both_ways(room):
    for order, rows in (("-seq", Message.objects.in_room(room).visible().before_seq(10)),
                        ("seq", Message.objects.in_room(room).visible().after_seq(10))):
        plan = rows.order_by(order)[:26].explain()
        assert "USING INDEX" in plan and "TEMP B-TREE" not in plan
