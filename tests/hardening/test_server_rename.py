"""A rename in one tab names what the person's other tab sends, on a real server's sockets
(python -m chatsite.serve): each socket holds its own copy of the identity it opened with."""
import pytest

from bench.wsclient import BlockingSocket
from rooms import identities
from tests.conftest import identity_cookie_for

pytestmark = pytest.mark.integration


def _joined(server, path, cookie):
    ws = BlockingSocket(server.port, path, headers={"Cookie": cookie}, timeout=30)
    assert ws.status == 101
    assert ws.receive_json()["type"] == "hello"
    return ws


def test_a_rename_in_one_tab_names_the_messages_and_typing_of_the_other_tab(daphne):
    path = f"/ws/rooms/{daphne.new_room()}/"
    alice, bob = identities.new_pending(), identities.new_pending()
    first = _joined(daphne, path, identity_cookie_for(alice).decode())
    second = _joined(daphne, path, identity_cookie_for(alice).decode())
    watcher = _joined(daphne, path, identity_cookie_for(bob).decode())
    # The second tab has spoken before the rename: its identity has a row, its socket a name.
    second.send_json({"type": "message", "body": "before", "client_id": "tab-2-before"})
    assert watcher.receive_type("message")["author"]["name"] == alice.name

    first.send_json({"type": "rename", "name": "Alicia"})
    renamed = watcher.receive_type("rename")
    assert (renamed["old_name"], renamed["member"]["name"]) == (alice.name, "Alicia")
    second.send_json({"type": "message", "body": "from the other tab", "client_id": "tab-2-after"})
    message = watcher.receive_type("message")
    assert (message["body"], message["author"]["name"]) == ("from the other tab", "Alicia")
    assert second.receive_type("message")["client_id"] == "tab-2-before"
    assert second.receive_type("message")["author"]["name"] == "Alicia"
    second.send_json({"type": "typing"})
    assert watcher.receive_type("typing")["member"]["name"] == "Alicia"
    for ws in (first, second, watcher):
        ws.close()
