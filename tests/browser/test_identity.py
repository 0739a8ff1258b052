"""An identity carried to a fresh browser by its key link, and a name nobody can take."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_identity_restored_in_a_fresh_browser_keeps_its_name_avatar_room_and_owner_role(person):
    alice = person("Alice")
    code = alice.create_room()
    alice.say("written before the move")
    alice.page.get_by_role("link", name="Your identity").click()
    expect(alice.page.locator("#identity-name")).to_have_text("Alice")
    avatar = alice.page.locator("#identity-avatar").get_attribute("src")
    alice.page.get_by_role("button", name="Make a key link").click()
    link = alice.page.locator("#key-link").input_value()
    assert re.fullmatch(r"http://[^/]+/me/restore/[A-Za-z0-9_-]{40,}/", link)
    expect(alice.page.locator(".key-qr svg")).to_be_visible()  # drawn by the server, allowed by the CSP

    laptop = person("Laptop")  # a fresh context: no cookie, a stranger to the site
    laptop.page.goto(link)
    expect(laptop.page.get_by_role("heading")).to_have_text("Become Alice?")
    laptop.page.get_by_role("button", name="Use this identity here").click()
    expect(laptop.page.locator("#identity-name")).to_have_text("Alice")
    assert laptop.page.locator("#identity-avatar").get_attribute("src") == avatar

    laptop.open_room(code)
    expect(laptop.page.get_by_label("Your name")).to_have_value("Alice")
    expect(laptop.members()).to_have_text(["Alice"])  # one member on two devices, not two
    # Alice made the room: on the laptop she is still its owner, with the owner's tools.
    expect(laptop.page.locator("#member-list li", has_text="Alice").locator(".role-badge")).to_have_text("owner")
    expect(laptop.page.locator("#room-settings")).to_be_visible()
    laptop.expect_message("written before the move")
    laptop.say("written after the move")
    alice.open_room(code)  # the first browser is still Alice too
    alice.expect_message("written after the move")
    expect(alice.messages().filter(has_text="written after the move").locator(".author")).to_have_text("Alice")


def test_a_rename_to_a_lookalike_of_someone_present_is_refused_on_the_page(person):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    expect(alice.members()).to_have_text(["Alice", "Bob"])
    bob.page.get_by_label("Your name").fill("Аlice")  # a Cyrillic А
    bob.page.get_by_role("button", name="Rename").click()
    expect(bob.page.locator("#rename-error")).to_contain_text("already called")
    expect(alice.members()).to_have_text(["Alice", "Bob"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_identity_pages_have_no_serious_accessibility_violation(person, scheme):
    from tests.browser.test_accessibility import audit

    alice = person("Alice")
    alice.page.emulate_media(color_scheme=scheme)
    alice.create_room()
    alice.page.goto("/me/")
    assert audit(alice.page) == []
    alice.page.get_by_role("button", name="Make a key link").click()
    link = alice.page.locator("#key-link").input_value()
    assert audit(alice.page) == []
    other = person("Other")
    other.page.emulate_media(color_scheme=scheme)
    other.page.goto(link)
    assert audit(other.page) == []
