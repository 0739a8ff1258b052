"""The Origin check on every real server the README names: the handshake of a page from another
origin is refused with HTTP 403, whatever the server would do on its own (daphne's autobahn, left
alone, answers `Origin: null` with 400 and lets another port through)."""
import pytest

from bench.wsclient import BlockingSocket

pytestmark = pytest.mark.integration

LOBBY = "/ws/rooms/LOBBY/"


def test_the_sites_own_origin_gets_its_socket(any_server):
    ws = BlockingSocket(any_server.port, LOBBY)
    assert ws.status == 101
    assert ws.receive_json()["type"] == "hello"
    ws.close()


@pytest.mark.parametrize("origin", ["http://127.0.0.1:{other}", "https://127.0.0.1:{port}", "null", None])
def test_another_port_another_scheme_null_or_no_origin_get_403(any_server, origin):
    if origin is not None:
        origin = origin.format(port=any_server.port, other=any_server.port + 1)
    ws = BlockingSocket(any_server.port, LOBBY, origin=origin)
    assert ws.status == 403
    ws.close()
