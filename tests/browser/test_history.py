"""A long room: older pages on demand, and a view that moves only when the reader wants it to."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SEEDED = 75
SEED = f"""
from asgiref.sync import async_to_sync
from rooms import services
from rooms.live.writer import message_send
room = services.room_create()
author = services.identity_create(name="Seeder")
for n in range(1, {SEEDED} + 1):
    async_to_sync(message_send)(room=room, author=author, body=f"seed {{n}}")
print(room.code)
"""


def seed(server):
    return server.manage("shell", "-c", SEED).stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def long_room(server):
    """The code of a room with SEEDED messages, "seed 1" to "seed 75"; tests here only read it."""
    return seed(server)


@pytest.fixture
def own_long_room(server):
    """Like long_room, for a test that adds messages."""
    return seed(server)


def top_of(page, text):
    """Where the text of a message is on screen (its header may fold into the group above)."""
    return page.locator("#messages li").filter(has_text=text).locator(".body").bounding_box()["y"]


def scroll_log(page, to):
    page.locator("#log").evaluate(f"log => log.scrollTop = {to}")


def test_the_room_page_shows_the_latest_fifty_messages_at_the_bottom(person, long_room):
    alice = person("Alice")
    alice.open_room(long_room)
    expect(alice.messages()).to_have_count(50)
    assert alice.bodies()[0] == "seed 26" and alice.bodies()[-1] == "seed 75"
    expect(alice.messages().last).to_be_in_viewport()


def test_scrolling_to_the_top_loads_older_messages_without_moving_the_view(person, long_room):
    alice = person("Alice")
    alice.open_room(long_room)
    # Scroll to the top and note where "seed 26" is before any answer can arrive.
    before = alice.page.locator("#log").evaluate(
        "log => { log.scrollTop = 0; return log.querySelector('#messages li .body').getBoundingClientRect().y; }"
    )
    expect(alice.messages()).to_have_count(SEEDED)
    assert abs(top_of(alice.page, "seed 26") - before) <= 2
    assert alice.bodies() == [f"seed {n}" for n in range(1, SEEDED + 1)]
    expect(alice.page.locator("#history-status")).to_contain_text("This is the start of the room.")


def test_the_latest_message_stays_in_view_when_the_composer_grows(person, long_room):
    alice = person("Alice")
    alice.open_room(long_room)
    alice.page.get_by_label("Message", exact=True).fill("a long draft\n" * 6)
    expect(alice.messages().last).to_be_in_viewport(ratio=1)


def test_a_new_message_scrolls_into_view_for_a_reader_at_the_bottom(person, own_long_room):
    alice, bob = person("Alice"), person("Bob")
    alice.open_room(own_long_room)
    bob.open_room(own_long_room)
    bob.say("fresh news")
    alice.expect_message("fresh news")
    expect(alice.messages().filter(has_text="fresh news")).to_be_in_viewport()
    expect(alice.page.get_by_role("button", name="New messages ↓")).to_be_hidden()


def test_a_reader_scrolled_up_keeps_the_view_and_gets_a_new_messages_button(person, own_long_room):
    alice, bob = person("Alice"), person("Bob")
    alice.open_room(own_long_room)
    bob.open_room(own_long_room)
    alice.messages().filter(has_text="seed 50").scroll_into_view_if_needed()
    before = top_of(alice.page, "seed 50")
    bob.say("fresh news")
    alice.expect_message("fresh news")
    jump = alice.page.get_by_role("button", name="New messages ↓")
    expect(jump).to_be_visible()
    assert top_of(alice.page, "seed 50") == before
    expect(alice.messages().filter(has_text="fresh news")).not_to_be_in_viewport()
    jump.click()
    expect(alice.messages().filter(has_text="fresh news")).to_be_in_viewport()
    expect(jump).to_be_hidden()
