"""A bot in the room page: its messages and its place in the member list are marked "bot"."""
import json
import urllib.request

import pytest
from playwright.sync_api import expect

from bench.wsclient import BlockingSocket

pytestmark = pytest.mark.browser


def test_a_bot_is_marked_on_its_messages_and_in_the_member_list(person, server):
    alice = person("Alice")
    code = alice.create_room()
    token = server.manage("create_bot", code, "Helper").stdout.strip().splitlines()[-1]
    request = urllib.request.Request(server.url(f"/api/rooms/{code}/messages"), json.dumps({"body": "beep"}).encode(),
                                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    alice.expect_message("beep")
    message = alice.messages().filter(has_text="beep")
    expect(message.locator(".author")).to_have_text("Helper")
    expect(message.locator(".bot-badge")).to_have_text("bot")
    alice.say("hello person")
    expect(alice.messages().filter(has_text="hello person").locator(".bot-badge")).to_have_count(0)

    sock = BlockingSocket(server.port, f"/ws/rooms/{code}/", origin=None, headers={"Authorization": f"Bearer {token}"})
    try:
        sock.receive_type("hello")
        expect(alice.members()).to_have_text(["Alice", "Helper"])
        expect(alice.page.locator("#member-list li").filter(has_text="Helper").locator(".bot-badge")).to_have_text("bot")
        expect(alice.page.locator("#member-list li").filter(has_text="Alice").locator(".bot-badge")).to_have_count(0)
    finally:
        sock.close()
