"""Limits only the real server can enforce, on every server command (python -m chatsite.serve,
chatsite.serve_uvicorn, manage.py runserver): frame size on the header, invalid UTF-8, and a
client that stops reading."""
import json

import pytest

from bench.wsclient import BINARY, CONTINUATION, TEXT, BlockingSocket

pytestmark = pytest.mark.integration

LIMIT = 64 * 1024
LOBBY = "/ws/rooms/LOBBY/"
# How long a socket waits for the server's next bytes: only a guard against a server that never
# answers. The tests wait for what they expect (a frame, a close), however busy the machine is.
HANG = 120


def joined(any_server, path=LOBBY, **options):
    ws = BlockingSocket(any_server.port, path, timeout=HANG, **options)
    assert ws.status == 101
    assert ws.receive_json()["type"] == "hello"
    return ws


@pytest.mark.parametrize("announced", [LIMIT + 1, 100 * 1024 * 1024])
def test_a_frame_announced_over_the_limit_is_closed_with_1009_before_its_payload_arrives(any_server, announced):
    ws = joined(any_server)
    # The rest of the payload never comes: a close at all is a close before it arrived.
    ws.send_frame(TEXT, b'{"type":"message","body":"' + b"x" * 1000, announce=announced)
    assert ws.close_code() == 1009


def test_a_message_split_into_small_fragments_is_refused_once_it_passes_the_limit(any_server):
    ws = joined(any_server)
    ws.send_frame(TEXT, b"[" * (LIMIT // 2), fin=False)
    # Announce a second fragment that would cross the limit, and send none of it.
    ws.send_frame(CONTINUATION, b"", fin=False, announce=LIMIT)
    assert ws.close_code() == 1009


def test_a_frame_just_under_the_limit_gets_an_error_frame_not_a_close(any_server):
    ws = joined(any_server)
    ws.send_frame(TEXT, json.dumps({"type": "message", "body": "x" * (LIMIT - 100)}).encode())
    assert ws.receive_type("error")["code"] == "message_too_long"
    ws.send_json({"type": "message", "body": "still here", "client_id": "under-limit"})
    assert ws.receive_type("message")["body"] == "still here"


def test_a_message_read_in_pieces_and_in_fragments_reaches_the_room_intact(any_server):
    # The server unmasks each client frame as it reads it: a frame split across network reads
    # at odd bytes, or a message sent as several fragments, must come out as the person typed it.
    room = f"/ws/rooms/{any_server.new_room()}/"
    sender, reader = joined(any_server, room), joined(any_server, room)
    body = "Grüße aus Köln 🎉, " * 40
    sender.send_frame(TEXT, json.dumps({"type": "message", "body": body, "client_id": "pieces"}).encode(), pieces=7)
    assert reader.receive_type("message")["body"] == body.strip()
    whole = json.dumps({"type": "message", "body": "fragmented 🎉 hello", "client_id": "fragments"}).encode()
    sender.send_frame(TEXT, whole[:5], fin=False)
    sender.send_frame(CONTINUATION, whole[5:23], fin=False, pieces=3)
    sender.send_frame(CONTINUATION, whole[23:])
    assert reader.receive_type("message")["body"] == "fragmented 🎉 hello"


def test_invalid_utf8_closes_with_1007_and_the_server_keeps_serving(any_server):
    ws = joined(any_server)
    ws.send_frame(TEXT, b'{"type":"message","body":"\xff\xfe"}')
    assert ws.close_code() == 1007
    joined(any_server).close()


def test_a_binary_frame_gets_an_error_frame_and_the_socket_stays_usable(any_server):
    ws = joined(any_server)
    ws.send_frame(BINARY, b"\x00\x01\x02")
    assert ws.receive_type("error")["code"] == "binary_unsupported"
    ws.send_json({"type": "sync", "after": 0})
    assert ws.receive_type("sync")["type"] == "sync"


def test_frames_from_the_server_may_exceed_the_input_limit_and_daphnes_1_mib_default(any_server):
    # Plain any_server limits outgoing messages to 1 MiB too: a full sync frame would kill the socket.
    ws = joined(any_server)
    for n in range(40):
        ws.send_json({"type": "message", "body": "y" * 30000, "client_id": f"big-{n}"})
        ws.receive_type("message")
    ws.send_json({"type": "sync", "after": 0})
    while True:
        opcode, payload = ws.receive()
        if json.loads(payload)["type"] == "sync":
            break
    assert len(payload) > 1024 * 1024


def test_a_client_that_stops_reading_is_dropped_and_the_room_carries_on(any_server):
    room = f"/ws/rooms/{any_server.new_room()}/"
    stalled = joined(any_server, room, rcvbuf=4096)
    sender = joined(any_server, room)
    rss_before = any_server.rss_bytes()
    body = "z" * 30000
    # ~6 MB: more than the kernel buffers between the server and the stalled socket hold. The
    # room carries on: each message reaches its sender while the stalled client reads nothing
    # (a room waiting on it would never answer, and the sender's wait would end at HANG).
    for n in range(200):
        sender.send_json({"type": "message", "body": body, "client_id": f"flood-{n}"})
        assert sender.receive_type("message")["client_id"] == f"flood-{n}"
    received = 0
    try:
        while True:
            chunk = stalled.sock.recv(1 << 20)
            if not chunk:
                break
            received += len(chunk)
    except ConnectionResetError:
        pass
    assert received < 200 * len(body), "the stalled client got everything: it was never dropped"
    assert "stopped reading" in any_server.log_text()
    assert any_server.rss_bytes() - rss_before < 64 * 1024 * 1024
