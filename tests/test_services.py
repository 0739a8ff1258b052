"""The services without sockets: room codes, identities, names, messages and deletions."""
import re

import pytest
from django.db import connection

from rooms import names, services, store
from rooms.errors import ChatError
from rooms.models import Message, Room
from tests.conftest import send_message

pytestmark = pytest.mark.django_db


def test_a_new_room_code_is_four_upper_case_letters():
    assert re.fullmatch(r"[A-Z]{4}", services.room_create().code)


def test_room_code_length_follows_the_setting(settings):
    settings.ROOM_CODE_LENGTH = 6
    assert re.fullmatch(r"[A-Z]{6}", services.room_create().code)


def test_a_colliding_code_is_skipped_for_a_free_one():
    Room.objects.create(code="AAAA")
    codes = iter(["AAAA", "AAAA", "BBBB"])
    assert services.room_create(generate=lambda length: next(codes)).code == "BBBB"


def test_running_out_of_codes_gives_up_instead_of_looping_forever():
    Room.objects.create(code="AAAA")
    calls = []

    def always_taken(length):
        calls.append(length)
        return "AAAA"

    with pytest.raises(ChatError) as raised:
        services.room_create(generate=always_taken)
    assert raised.value.code == "codes_exhausted"
    assert len(calls) == services.CODE_ATTEMPTS


def test_a_blank_name_gives_a_random_two_word_identity():
    identity = services.identity_create(name=services.identity_name_clean(name="   "))
    adjective, animal = identity.name.split()
    assert adjective in names.ADJECTIVES and animal in names.ANIMALS


def test_a_given_name_is_used_as_is_after_trimming():
    assert services.identity_create(name=services.identity_name_clean(name="  Zoë  ")).name == "Zoë"


def test_identities_get_distinct_opaque_ids():
    ids = {services.identity_create().public_id for _ in range(20)}
    assert len(ids) == 20


def test_a_name_over_32_characters_is_refused():
    with pytest.raises(ChatError) as raised:
        services.identity_name_clean(name="x" * 33)
    assert raised.value.code == "invalid_name"


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_a_repeated_client_id_stores_the_message_once():
    room, author = services.room_create(), services.identity_create()
    first, created = send_message(room=room, author=author, body="hi", client_id="k")
    again, created_again = send_message(room=room, author=author, body="hi", client_id="k")
    assert created and not created_again and again == first
    assert Message.objects.count() == 1
    assert Room.objects.get(pk=room.pk).seq == 1


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_a_deletion_takes_the_next_seq_and_clears_the_text():
    room, author = services.room_create(), services.identity_create()
    frame, _ = send_message(room=room, author=author, body="oops")
    services.message_delete(message=Message.objects.get(id=frame["id"]))
    stored = Message.objects.get(id=frame["id"])
    assert stored.deleted_seq == 2 and stored.body == ""
    services.message_delete(message=stored)
    assert Room.objects.get(pk=room.pk).seq == 2  # deleting twice is one change


def test_a_batch_stores_each_message_once_with_consecutive_seqs_per_room():
    room, other = services.room_create(), services.room_create()
    ann, ben = services.identity_create(), services.identity_create()
    requests = [
        services.MessageRequest(room, ann, "one", "a1"),
        services.MessageRequest(other, ben, "elsewhere", "b1"),
        services.MessageRequest(room, ben, "two", None),
        services.MessageRequest(room, ann, "one", "a1"),  # the same message twice in one batch
    ]
    results, frames_by_room = services.messages_store(requests=requests)
    assert [r[0]["seq"] for r in results] == [1, 1, 2, 1]
    assert [created for _, created in results] == [True, True, True, True]
    assert results[3][0] == results[0][0]
    assert [f["body"] for f in frames_by_room[room.code]] == ["one", "two"]
    assert Message.objects.filter(room=room).count() == 2


def test_a_batch_with_a_repeated_client_id_leaves_no_gap_in_the_room_seq():
    # Every socket's order waits for each seq in turn: a seq taken for the repeat and never
    # stored would hold back everything after it until the gap filler gives up on it.
    room = services.room_create()
    ann, ben = services.identity_create(), services.identity_create()
    requests = [
        services.MessageRequest(room, ann, "one", "a1"),
        services.MessageRequest(room, ann, "one", "a1"),
        services.MessageRequest(room, ben, "two", "b1"),
        services.MessageRequest(room, ann, "one", "a1"),
        services.MessageRequest(room, ben, "three", None),
    ]
    results, _ = services.messages_store(requests=requests)
    assert all(not isinstance(r, ChatError) for r in results)
    seqs = list(Message.objects.filter(room=room).order_by("seq").values_list("seq", flat=True))
    assert seqs == [1, 2, 3]
    assert Room.objects.get(pk=room.pk).seq == seqs[-1]
    results, _ = services.messages_store(requests=[services.MessageRequest(room, ben, "four", None)])
    (after, created), = results
    assert created and after["seq"] == 4


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_a_client_id_from_another_room_is_refused_in_a_batch_without_failing_the_rest():
    room, other = services.room_create(), services.room_create()
    ann = services.identity_create()
    send_message(room=room, author=ann, body="first", client_id="k")
    results, _ = services.messages_store(
        requests=[services.MessageRequest(other, ann, "again", "k"), services.MessageRequest(other, ann, "fine", "k2")]
    )
    assert isinstance(results[0], ChatError) and results[0].code == "invalid_field"
    assert results[1][1] is True


def test_the_resend_check_looks_up_each_client_id_instead_of_reading_all_the_authors_messages():
    # Every batch asks which of its client_ids are stored already. Asked with `client_id IS NOT
    # NULL`, SQLite searched the author's whole range of the index: sending got slower the more
    # a person had written. Each (author, client_id) must be one index lookup.
    if connection.vendor != "sqlite":
        pytest.skip("the query plan checked here is SQLite's")
    people = [services.identity_create() for _ in range(3)]
    pairs = {(person.id, f"c-{n}") for n, person in enumerate(people)}
    assert store.client_ids_taken(pairs) == set()
    sql, params = store.client_ids_query(pairs)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "message_author_client_id_unique (author_id=? AND client_id=?)" in plan


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_a_stored_client_id_is_found_by_the_resend_check():
    room, ann, ben = services.room_create(), services.identity_create(), services.identity_create()
    send_message(room=room, author=ann, body="hi", client_id="k-1")
    assert store.client_ids_taken({(ann.id, "k-1"), (ben.id, "k-1"), (ann.id, "k-2")}) == {(ann.id, "k-1")}


@pytest.mark.django_db(transaction=True)
def test_a_resend_that_races_another_worker_leaves_no_gap_in_the_room_seq(monkeypatch):
    # Another worker stored this client_id between our check and our insert: the insert skips
    # it. Its seq must be given back, or every socket's order would wait on a seq never sent.
    room, ann, ben = services.room_create(), services.identity_create(), services.identity_create()
    stored, _ = send_message(room=room, author=ann, body="hi", client_id="k-1")
    real_check, checks = store.client_ids_taken, []

    def check_before_the_other_worker(pairs):  # the batch's check saw nothing; later ones see it
        checks.append(pairs)
        return set() if len(checks) == 1 else real_check(pairs)

    monkeypatch.setattr(store, "client_ids_taken", check_before_the_other_worker)
    results, frames_by_room = services.messages_store(requests=[
        services.MessageRequest(room, ben, "before", "b-1"),
        services.MessageRequest(room, ann, "hi", "k-1"),
        services.MessageRequest(room, ben, "after", "b-2"),
    ])
    assert results[1] == (stored, False)
    assert [f["seq"] for f in frames_by_room[room.code]] == [2, 3]
    assert Room.objects.get(pk=room.pk).seq == 3
    assert sorted(Message.objects.filter(room=room).values_list("seq", flat=True)) == [1, 2, 3]


def test_a_batch_with_a_repeated_client_id_takes_one_seq_per_message():
    room, ann = services.room_create(), services.identity_create()
    services.messages_store(requests=[services.MessageRequest(room, ann, "one", "a1")] * 3)
    results, _ = services.messages_store(requests=[services.MessageRequest(room, ann, "two", "a2")])
    assert results[0][0]["seq"] == 2  # no gap: the repeats took no seq
    assert Room.objects.get(pk=room.pk).seq == 2
