"""Connections on every server command: no banner naming the software, and a client that sends a
request's headers slowly (slowloris) is closed in time and capped per address, while pages keep
loading for everyone else."""
import socket
import time

import pytest

from bench.wsclient import BlockingSocket
from tests.hardening.conftest import SERVER_COMMANDS, Daphne

pytestmark = pytest.mark.integration

HEADER_TIMEOUT = 3.0  # short for the test, with room for a busy machine to read a whole request
PENDING_PER_ADDRESS = 4


@pytest.fixture(scope="module", params=sorted(SERVER_COMMANDS))
def server(request, tmp_path_factory):
    env = {"CHAT_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "CHAT_HEADER_PENDING_PER_ADDRESS": str(PENDING_PER_ADDRESS),
           "CHAT_WS_PER_ADDRESS": "0"}
    started = Daphne(tmp_path_factory.mktemp("server"), server=request.param, **env).start()
    yield started
    started.stop()


def connect(server, source="127.0.0.1"):
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=10, source_address=(source, 0))
    return conn


def page(server, source="127.0.0.1", path="/"):
    """A whole GET: (status line, headers as lower-case names)."""
    with connect(server, source) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    return head[0], {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in head[1:] if ":" in line}


def closed_within(conn, seconds):
    """Seconds until the server closed `conn`; fails if it is still open after `seconds`."""
    started = time.monotonic()
    conn.settimeout(seconds)
    try:
        while conn.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for more than {seconds} s")
    return time.monotonic() - started


def test_pages_and_handshakes_carry_no_server_banner(server):
    status, headers = page(server)
    assert status.endswith("200 OK") and "server" not in headers, headers
    ws = BlockingSocket(server.port, "/ws/rooms/LOBBY/")
    assert ws.status == 101 and "server" not in ws.headers, dict(ws.headers)
    ws.close()


def test_a_connection_that_never_finishes_its_headers_is_closed_after_the_header_timeout(server):
    conn = connect(server)
    conn.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())
    assert closed_within(conn, HEADER_TIMEOUT + 3) >= HEADER_TIMEOUT - 0.5
    conn.close()


def test_headers_sent_a_byte_at_a_time_do_not_buy_more_time(server):
    conn = connect(server)
    request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-Slow: {'a' * 200}".encode()
    started = time.monotonic()
    try:
        for byte in request:
            conn.sendall(bytes([byte]))
            time.sleep(0.1)
            if time.monotonic() - started > HEADER_TIMEOUT + 3:
                pytest.fail("still open: every byte bought more time")
    except (BrokenPipeError, ConnectionResetError):
        pass
    else:
        closed_within(conn, HEADER_TIMEOUT + 3)
    assert time.monotonic() - started < HEADER_TIMEOUT + 3
    conn.close()


def test_the_next_request_on_a_kept_alive_connection_has_the_same_deadline(server):
    conn = connect(server)
    conn.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
    data = b""
    while b"</html>" not in data.lower():
        data += conn.recv(65536)
    conn.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())  # and then nothing
    closed_within(conn, HEADER_TIMEOUT + 3)
    conn.close()


def test_an_address_can_hold_only_a_few_unfinished_requests_and_pages_still_load_for_others(server):
    held = []
    for _ in range(PENDING_PER_ADDRESS):
        conn = connect(server, "127.0.0.3")
        conn.sendall(b"GET / HTTP/1.1\r\n")
        held.append(conn)
    time.sleep(0.3)
    try:
        extra = connect(server, "127.0.0.3")
    except ConnectionResetError:
        extra = None  # refused while it was still connecting
    if extra is not None:
        try:
            extra.sendall(b"GET / HTTP/1.1\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it could even send
        # Refused, not closed by its own header deadline (HEADER_TIMEOUT after it connected).
        closed_within(extra, HEADER_TIMEOUT * 0.9)
        extra.close()
    assert page(server, "127.0.0.4")[0].endswith("200 OK")  # someone else
    for conn in held:
        conn.close()


@pytest.fixture(scope="module", params=sorted(SERVER_COMMANDS))
def saturated_server(request, tmp_path_factory):
    """A server that admits no handshake at all (CHAT_HANDSHAKES_MIN=0 with nothing finished yet)."""
    started = Daphne(tmp_path_factory.mktemp("server"), server=request.param, CHAT_HANDSHAKES_MIN="0").start()
    yield started
    started.stop()


def test_a_worker_with_no_room_for_more_handshakes_says_when_to_come_back_and_closes_with_1013(saturated_server):
    ws = BlockingSocket(saturated_server.port, "/ws/rooms/LOBBY/")
    assert ws.status == 101
    error = ws.receive_json()
    assert error["type"] == "error" and error["code"] == "unavailable" and error["retry_after_ms"] >= 500
    assert ws.close_code() == 1013
    ws.close()


@pytest.fixture(scope="module")
def paced_server(tmp_path_factory):
    """The production server taking at most 4 connections at once off its listen queue."""
    env = {"CHAT_HANDSHAKES_AT_ONCE": "4", "CHAT_HEADER_TIMEOUT": "30", "CHAT_WS_PER_ADDRESS": "0"}
    started = Daphne(tmp_path_factory.mktemp("server"), server="chatsite.serve", **env).start()
    yield started
    started.stop()


def accept_queue(port):
    """Connections the kernel completed on the listening `port` that the server has not taken
    off its queue yet (Linux: rx_queue of the LISTEN line of /proc/net/tcp)."""
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            return int(fields[4].split(":")[1], 16)
    raise AssertionError(f"nothing listens on {port}")


def wait_for(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.02)


def test_a_worker_with_its_handshakes_in_hand_leaves_the_next_connections_queued_then_takes_them(paced_server):
    """A restart's reconnects wait in the kernel's listen queue while the worker is opening as
    many as CHAT_HANDSHAKES_AT_ONCE, and are taken as soon as those are through."""
    held = []
    for index in range(4):  # four connections that have not finished their request headers
        conn = connect(paced_server, f"127.0.1.{index + 1}")
        conn.sendall(b"GET / HTTP/1.1\r\n")
        held.append(conn)
        wait_for(lambda: accept_queue(paced_server.port) == 0)  # taken, one at a time
    waiting = connect(paced_server, "127.0.2.1")  # the kernel completes the TCP handshake
    waiting.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{paced_server.port}\r\nConnection: close\r\n\r\n".encode())
    waiting.settimeout(1.0)
    with pytest.raises(TimeoutError):
        waiting.recv(65536)  # not taken off the queue while four are being opened
    assert accept_queue(paced_server.port) == 1
    for conn in held:
        conn.close()
    waiting.settimeout(10)
    assert waiting.recv(65536).startswith(b"HTTP/1.1 200")  # taken once they are through
    waiting.close()
