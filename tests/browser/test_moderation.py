"""A room defends itself in real browsers (issue 15): the owner names a moderator, who mutes and
bans a spammer from the member menu; the spammer's page says why; a report reaches a moderator."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def member_menu(someone, name):
    someone.page.locator("#member-list li", has_text=name).click()
    return someone.page.locator("#member-menu")


def test_an_owner_promotes_a_moderator_who_mutes_and_bans_a_spammer(person):
    alice, bob, spammer = person("Alice"), person("Bob"), person("Spammer")
    code = alice.create_room()
    bob.join_by_code(code)
    spammer.join_by_code(code)
    # The owner is marked for everyone; members see no moderation tools.
    expect(spammer.page.locator("#member-list li", has_text="Alice").locator(".role-badge")).to_have_text("owner")
    expect(bob.page.locator("#room-settings")).to_be_hidden()

    member_menu(alice, "Bob").get_by_role("menuitem", name="Make moderator").click()
    expect(spammer.page.locator("#member-list li", has_text="Bob").locator(".role-badge")).to_have_text("mod")
    expect(bob.page.locator("#reports")).to_be_visible()

    # A report reaches the moderator's page, live.
    spammer.say("BUY CHEAP WATCHES")
    alice.expect_message("BUY CHEAP WATCHES")
    message = alice.messages().filter(has_text="BUY CHEAP WATCHES")
    message.hover()
    message.locator(".actions-button").click()
    alice.page.get_by_role("menuitem", name="Report…").click()
    alice.page.get_by_label("Reason (optional)").fill("advertising")
    alice.page.get_by_role("button", name="Report", exact=True).click()
    report = bob.page.locator("#reports li.report")
    expect(report).to_contain_text("BUY CHEAP WATCHES")
    expect(report).to_contain_text("advertising")

    # The moderator mutes the spammer from the menu on their message.
    bob.messages().filter(has_text="BUY CHEAP WATCHES").locator(".author").click()
    bob.page.locator("#member-menu").get_by_role("menuitem", name="Mute for 10 minutes").click()
    expect(spammer.page.locator("#status")).to_have_text("Online")
    box = spammer.page.get_by_label("Message", exact=True)
    # The mute is heard (a member frame) before the next message is refused.
    expect(bob.page.locator("#member-menu")).to_be_hidden()
    box.fill("still here")
    box.press("Enter")
    expect(spammer.page.locator("#composer-error")).to_contain_text("muted")

    # ...and bans them from the member list, with a reason.
    member_menu(bob, "Spammer").get_by_role("menuitem", name="Ban…").click()
    bob.page.get_by_label("Reason (optional)").fill("spam links")
    bob.page.get_by_role("button", name="Ban", exact=True).click()
    notice = spammer.page.locator("#removed-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("spam links")
    expect(alice.members()).to_have_text(["Alice", "Bob"])
    spammer.page.reload()
    expect(spammer.page.locator("#refusal-detail")).to_contain_text("spam links")
