"""With REDIS_URL set but Redis unreachable, the shared per-address counts (rooms/live/shared.py)
fail open: sockets still open, pages still load, and the outage is logged."""
import logging

import pytest

from tests.hardening.test_socket_guards import hello_of

pytestmark = pytest.mark.django_db(transaction=True)

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_away(settings):
    settings.REDIS_URL = UNREACHABLE


async def test_a_socket_opens_while_the_shared_counts_are_unreachable(redis_away, open_socket, room, caplog):
    caplog.set_level(logging.WARNING, logger="rooms.guards")
    hello = await hello_of(await open_socket(room.code, address="10.0.0.5"))
    assert hello["type"] == "hello"
    assert "Redis unavailable" in caplog.text


def test_pages_and_key_links_answer_while_the_shared_counts_are_unreachable(redis_away, client):
    assert client.post("/", {"action": "create", "name": "Ann", "code": ""}).status_code == 302
    assert client.get("/me/restore/not-a-real-secret-at-all-000000/").status_code == 404
