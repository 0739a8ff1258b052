"""A restart brings everyone back: thirty tabs in three rooms, the server restarted under them,
every tab back with every message within 15 s, none twice (issue 19)."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.server import new_server

pytestmark = pytest.mark.browser

TABS_PER_ROOM = 10
BACK_WITHIN_MS = 15000


@pytest.fixture
def busy_server():
    # 30 tabs and a talker from one address: above the production per-address socket limit (30),
    # which its own tests hold; the server drains over a second when stopped (SIGTERM).
    server = new_server(CHAT_WS_PER_ADDRESS="100")
    yield server
    server.stop()
    server.remove_files()


def test_thirty_tabs_in_three_rooms_are_all_back_with_every_message_after_a_restart(person, busy_server):
    people = [person(name, on=busy_server) for name in ("Ann", "Ben", "Cat")]
    codes = [someone.create_room() for someone in people]
    tabs = []
    for someone, code in zip(people, codes, strict=True):
        for _ in range(TABS_PER_ROOM - 1):
            tab = someone.new_tab()
            someone.open_room(code, tab)
            tabs.append((someone, code, tab))
        tabs.append((someone, code, someone.page))
    for someone, code in zip(people, codes, strict=True):
        someone.say(f"before in {code}")

    busy_server.stop()
    for someone in people:
        expect(someone.page.locator("#status")).to_have_text("Reconnecting…")
        someone.say(f"while down in {someone.page.locator('#room-code').inner_text()}")  # waits, pending
    busy_server.start()

    for _, _, tab in tabs:
        expect(tab.locator("#status")).to_have_text(re.compile("^(Back online|Online)$"), timeout=BACK_WITHIN_MS)
    for someone, code in zip(people, codes, strict=True):
        someone.say(f"after in {code}")
    for someone, code, tab in tabs:
        expect(someone.messages(tab).locator(".body")).to_have_text(
            [f"before in {code}", f"while down in {code}", f"after in {code}"], timeout=BACK_WITHIN_MS
        )
