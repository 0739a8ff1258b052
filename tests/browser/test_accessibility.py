"""axe-core's audit of the pages, in both colour schemes: no serious or critical violation."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
BLOCKING = {"serious", "critical"}


def audit(page):
    """axe's serious and critical violations on the page as it is now, as readable lines."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)  # through the debugger protocol: the page's CSP does not apply
    result = page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.fixture
def busy_room(person):
    """A room with a reply, reactions, a mention and an unread divider, as Alice sees it."""
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    alice.say("Is the **release** on for `Thursday`? https://example.com/notes")
    bob.expect_message("release")
    alice.page.wait_for_timeout(2200)  # her read goes out
    alice.page.goto("/")
    message = bob.messages().first
    message.hover()
    message.locator(".actions-button").click()
    bob.page.get_by_role("menuitem", name="Reply").click()
    bob.say("@Alice yes, QA signed off")
    message.hover()
    message.locator(".actions-button").click()
    bob.page.get_by_role("menuitem", name="Add a reaction…").click()
    bob.page.get_by_role("button", name="React with 🎉").click()
    expect(bob.page.locator(".reaction")).to_have_count(1)
    return alice, code


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_room_page_has_no_serious_violation(busy_room, scheme):
    alice, code = busy_room
    alice.page.emulate_media(color_scheme=scheme)
    alice.open_room(code)
    expect(alice.page.locator(".unread-divider")).to_have_count(1)
    expect(alice.page.locator(".message.mentions-me")).to_have_count(1)
    assert audit(alice.page) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_open_menu_picker_and_dialog_have_no_serious_violation(busy_room, scheme):
    alice, code = busy_room
    page = alice.page
    page.emulate_media(color_scheme=scheme)
    alice.open_room(code)
    message = alice.messages().filter(has_text="QA signed off")
    message.hover()
    message.locator(".actions-button").click()
    expect(page.get_by_role("menu")).to_be_visible()
    assert audit(page) == []
    page.get_by_role("menuitem", name="Add a reaction…").click()
    expect(page.get_by_role("dialog", name="Add a reaction")).to_be_visible()
    assert audit(page) == []
    page.keyboard.press("Escape")
    mine = alice.messages().first
    mine.hover()
    mine.locator(".actions-button").click()
    page.get_by_role("menuitem", name="Delete…").click()
    expect(page.get_by_role("dialog", name="Delete this message?")).to_be_visible()
    assert audit(page) == []
    page.get_by_role("dialog", name="Delete this message?").get_by_role("button", name="Cancel").click()
    # The dialog gives the focus back to the menu's button as it closes: type only after that,
    # or the first keys go to the composer and the rest follow the focus away.
    expect(page.get_by_role("dialog", name="Delete this message?")).to_be_hidden()
    expect(mine.locator(".actions-button")).to_be_focused()
    page.get_by_label("Message", exact=True).press_sequentially("@B")
    expect(page.get_by_role("option", name="Bob")).to_be_visible()
    assert audit(page) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_home_page_has_no_serious_violation(person, scheme):
    someone = person("Dana")
    someone.page.emulate_media(color_scheme=scheme)
    someone.page.goto("/")
    assert audit(someone.page) == []
