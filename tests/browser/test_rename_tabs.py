"""Two tabs of one person in Chromium: renamed in one, what the other tab sends carries the new name."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HIDDEN = """
Object.defineProperty(document, "hidden", { get: () => true, configurable: true });
Object.defineProperty(document, "visibilityState", { get: () => "hidden", configurable: true });
document.dispatchEvent(new Event("visibilitychange"));
"""


def test_a_rename_in_one_tab_names_the_message_sent_from_the_other_tab(person):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    second = bob.new_tab()
    bob.open_room(code, second)
    expect(alice.members()).to_have_text(["Alice", "Bob"])

    bob.page.get_by_label("Your name").fill("Robert")
    bob.page.get_by_role("button", name="Rename").click()
    expect(alice.members()).to_have_text(["Alice", "Robert"])
    expect(bob.members(second)).to_have_text(["Alice", "Robert"])
    bob.say("sent from the other tab", page=second)

    for page in (alice.page, second, bob.page):
        sent = page.locator("#messages li.message").filter(has_text="sent from the other tab")
        expect(sent.locator(".author")).to_have_text("Robert")


def test_a_visitor_who_spoke_in_one_tab_and_renamed_in_the_other_is_shown_by_the_new_name(person):
    # Straight to the room's address, without the home form: the identity gets its row at its
    # first message, in the second tab; the first tab's socket still holds it without one (a
    # tab in the background sends no read marks, which would store it too).
    alice, visitor = person("Alice"), person("Visitor")
    code = alice.create_room()
    visitor.page.add_init_script(HIDDEN)
    visitor.open_room(code)
    second = visitor.new_tab()
    visitor.open_room(code, second)
    visitor.say("hello", page=second)
    alice.expect_message("hello")

    visitor.page.get_by_label("Your name").fill("Robert")
    visitor.page.get_by_role("button", name="Rename").click()
    expect(alice.members()).to_have_text(["Alice", "Robert"])
    visitor.say("again", page=second)
    expect(alice.messages().locator(".author")).to_have_text(["Robert", "Robert"])
    fresh = alice.new_tab()
    alice.open_room(code, fresh)
    expect(alice.messages(fresh).locator(".author")).to_have_text(["Robert", "Robert"])
