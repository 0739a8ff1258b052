"""Bad input on the socket: each gets a clear error frame (or a clean close) and the socket,
the room and the server keep working."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

FOREIGN = (b"origin", b"http://evil.example")


async def assert_still_works(client, tag="ok"):
    await client.send({"type": "message", "body": f"still works {tag}", "client_id": f"still-{tag}"})
    assert (await client.receive_type("message"))["body"] == f"still works {tag}"


async def error_after(client, text):
    await client.send_text(text)
    frame = await client.receive_type("error")
    return frame["code"]


async def test_a_binary_frame_gets_an_error_frame(connect, room, alice):
    client = await connect(room.code, alice)
    await client.communicator.send_to(bytes_data=b"\x00\xff")
    assert (await client.receive_type("error"))["code"] == "binary_unsupported"
    await assert_still_works(client)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * 60_000, "bad_json"),  # nesting deeper than the parser's recursion limit
        ('{"type":"sync","after":' + "9" * 5000 + "}", "bad_json"),  # more digits than int() takes
        ('{"type": "message", "body": "x"', "bad_json"),
        ("null", "bad_frame"),
        ('"message"', "bad_frame"),
        ("[1, 2, 3]", "bad_frame"),
        ('{"type": 5}', "bad_frame"),
        ('{"type": "x' + "y" * 50_000 + '"}', "unknown_type"),
        ('{"type": "message", "body": "' + "x" * 60_000 + '"}', "message_too_long"),
    ],
    ids=["deep-nesting", "huge-number", "truncated", "null", "string", "array", "numeric-type", "long-type", "long-body"],
)
async def test_malformed_or_huge_json_gets_an_error_frame(connect, room, alice, text, code):
    client = await connect(room.code, alice)
    assert await error_after(client, text) == code
    await assert_still_works(client)


async def test_an_error_detail_never_echoes_a_huge_input(connect, room, alice):
    client = await connect(room.code, alice)
    await client.send_text('{"type": "x' + "y" * 50_000 + '"}')
    assert len((await client.receive_type("error"))["detail"]) < 200


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "message", "body": 5},
        {"type": "message", "body": ["hi"]},
        {"type": "message", "body": {"text": "hi"}},
        {"type": "message", "body": None},
        {"type": "message", "body": True},
        {"type": "message", "body": "hi", "client_id": 7},
        {"type": "rename", "name": 5},
        {"type": "rename", "name": None},
        {"type": "history", "before": "5"},
        {"type": "history", "before": 1, "limit": 1.5},
        {"type": "sync", "after": True},
        {"type": "sync", "after": "0"},
        {"type": "sync", "after": 1e308},
    ],
    ids=repr,
)
async def test_a_number_or_object_where_text_belongs_and_the_reverse_are_invalid_fields(connect, room, alice, frame):
    client = await connect(room.code, alice)
    await client.send(frame)
    assert (await client.receive_type("error"))["code"] == "invalid_field"
    await assert_still_works(client)


@pytest.mark.parametrize("frame", [{"type": "history", "before": 2**70}, {"type": "sync", "after": 2**70}, {"type": "history", "before": -(2**70)}], ids=repr)
async def test_integers_beyond_64_bits_get_an_answer_not_a_crash(connect, room, alice, frame):
    client = await connect(room.code, alice)
    await client.send(frame)
    reply = await client.receive()
    while reply["type"] in {"join", "tick"}:
        reply = await client.receive()
    assert reply["type"] in {"error", "history", "sync"}
    await assert_still_works(client)


@pytest.mark.parametrize(
    "body",
    ["nul \x00 inside", "bell \x07", "escape \x1b[31mred", "delete \x7f", "c1 \x85 \x9b", "lone \ud800 surrogate"],
    ids=["nul", "bell", "ansi-escape", "del", "c1", "lone-surrogate"],
)
async def test_control_characters_in_a_message_are_refused(connect, room, alice, body):
    client = await connect(room.code, alice)
    await client.send({"type": "message", "body": body})
    assert (await client.receive_type("error"))["code"] == "invalid_field"
    await assert_still_works(client)


async def test_newlines_and_tabs_in_a_message_are_kept(connect, room, alice):
    client = await connect(room.code, alice)
    await client.send({"type": "message", "body": "line one\n\tline two"})
    assert (await client.receive_type("message"))["body"] == "line one\n\tline two"


@pytest.mark.parametrize("client_id", ["nul\x00", "lone\ud800"], ids=["nul", "lone-surrogate"])
async def test_control_characters_in_a_client_id_are_refused(connect, room, alice, client_id):
    client = await connect(room.code, alice)
    await client.send({"type": "message", "body": "hi", "client_id": client_id})
    assert (await client.receive_type("error"))["code"] == "invalid_field"
    await assert_still_works(client)


@pytest.mark.parametrize(
    "name",
    [
        "\u202egnp.exe",  # right-to-left override
        "Alice\u2066",  # isolate
        "\u200b\u200b\u200b",  # zero-width spaces only
        "\u200d\u2060\ufeff",  # joiner, word joiner, BOM only
        "   ",
        "nul\x00",
        "bell\x07",
        "lone\ud800",
        "\u3164",  # Hangul filler: a letter that draws nothing
        "\u2800\u2800",  # blank braille pattern
        "\u115f\u1160",  # Hangul choseong and jungseong fillers
        "two\u2028lines",  # line separator
    ],
    ids=[
        "rlo", "isolate", "zwsp", "joiners", "spaces", "nul", "bell", "lone-surrogate",
        "hangul-filler", "braille-blank", "jamo-fillers", "line-separator",
    ],
)
async def test_names_that_hide_or_lie_about_themselves_are_refused(connect, room, alice, name):
    client = await connect(room.code, alice)
    await client.send({"type": "rename", "name": name})
    assert (await client.receive_type("error"))["code"] == "invalid_name"
    await assert_still_works(client)


async def test_the_author_is_never_taken_from_the_client(connect, room, alice, bob):
    a = await connect(room.code, alice)
    forged = {"id": bob.public_id, "name": "Bob", "avatar": f"/avatars/{bob.public_id}.svg"}
    await a.send({"type": "message", "body": "I am Bob", "author": forged, "author_id": bob.pk, "id": 1, "seq": 99})
    message = await a.receive_type("message")
    assert message["author"]["id"] == alice.public_id and message["author"]["name"] == "Alice"


async def test_a_socket_from_a_foreign_origin_is_refused(connect, room, alice):
    client = await connect(room.code, alice, origin=FOREIGN, expect_hello=False)
    assert not client.connected


async def test_a_socket_without_an_origin_is_refused(connect, room, alice):
    client = await connect(room.code, alice, origin=None, expect_hello=False)
    assert not client.connected


async def test_a_bad_frame_from_one_member_disturbs_nobody_else(connect, room, alice, bob):
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    for text in ("[" * 60_000, "\x00", '{"type":"message","body":5}'):
        await a.send_text(text)
    await b.send({"type": "message", "body": "unbothered"})
    assert (await b.receive_type("message"))["body"] == "unbothered"
