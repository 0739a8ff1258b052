"""Who is here, who is typing, and what a name change or a second tab looks like to others."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def pair(person):
    """Alice created a room and Bob joined it by its code."""
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    expect(alice.members()).to_have_text(["Alice", "Bob"])
    return alice, bob, code


def test_typing_shows_for_the_other_person_and_not_for_the_typist(pair):
    alice, bob, _ = pair
    bob.page.get_by_label("Message", exact=True).press_sequentially("hel")
    expect(alice.page.locator("#typing")).to_have_text("Bob is typing…")
    expect(bob.page.locator("#typing")).to_have_text("")


def test_the_typing_notice_goes_away_when_the_message_arrives(pair):
    alice, bob, _ = pair
    bob.page.get_by_label("Message", exact=True).press_sequentially("hello")
    expect(alice.page.locator("#typing")).to_have_text("Bob is typing…")
    bob.page.get_by_label("Message", exact=True).press("Enter")
    alice.expect_message("hello")
    expect(alice.page.locator("#typing")).to_have_text("")


def test_the_typing_notice_goes_away_after_a_few_seconds(pair):
    alice, bob, _ = pair
    bob.page.get_by_label("Message", exact=True).press_sequentially("hm")
    expect(alice.page.locator("#typing")).to_have_text("Bob is typing…")
    expect(alice.page.locator("#typing")).to_have_text("", timeout=6000)


def test_a_rename_shows_in_the_member_list_and_on_earlier_messages(pair):
    alice, bob, _ = pair
    bob.say("before the rename")
    alice.expect_message("before the rename")
    bob.page.get_by_label("Your name").fill("Robert")
    bob.page.get_by_role("button", name="Rename").click()
    expect(alice.members()).to_have_text(["Alice", "Robert"])
    expect(alice.messages().locator(".author")).to_have_text(["Robert"])
    expect(bob.messages().locator(".author")).to_have_text(["Robert"])


def test_an_unusable_name_is_explained_next_to_the_rename_form(person):
    bob = person("Bob")
    bob.create_room()
    bob.page.get_by_label("Your name").fill("Eve\u202eliA")
    bob.page.get_by_role("button", name="Rename").click()
    expect(bob.page.locator("#rename-error")).to_contain_text("text-direction")
    expect(bob.members()).to_have_text(["Bob"])


def test_someone_closing_the_page_leaves_the_member_list(pair):
    alice, bob, _ = pair
    bob.page.close()
    expect(alice.members()).to_have_text(["Alice"])
    expect(alice.page.locator("#member-count")).to_have_text("1")


def test_two_tabs_of_one_person_are_one_presence(pair):
    alice, bob, code = pair
    second = bob.new_tab()
    bob.open_room(code, second)
    expect(alice.members()).to_have_text(["Alice", "Bob"])
    second.close()
    alice.page.wait_for_timeout(1500)  # the leave grace is 0.5 s: a leave would show by now
    expect(alice.members()).to_have_text(["Alice", "Bob"])


def test_a_message_from_one_tab_shows_in_the_other_tab_as_mine(pair):
    alice, bob, code = pair
    second = bob.new_tab()
    bob.open_room(code, second)
    bob.say("from my first tab")
    expect(bob.messages(second).filter(has_text="from my first tab")).to_have_class("message mine")
    alice.expect_message("from my first tab")


def test_on_a_phone_the_member_list_opens_from_the_people_button(pair, person):
    _, _, code = pair
    carol = person("Carol", viewport={"width": 390, "height": 844})
    carol.join_by_code(code)
    expect(carol.page.locator("#member-list")).to_be_hidden()
    people = carol.page.get_by_role("button", name="People")
    expect(people).to_have_text("People 3")
    people.click()
    expect(carol.page.locator("#member-list")).to_be_visible()
    expect(carol.members()).to_have_text(["Alice", "Bob", "Carol"])
    expect(people).to_have_attribute("aria-expanded", "true")


def set_tab_hidden(page, hidden):
    """Headless Chromium never hides a tab, so the test plays the browser's part."""
    page.evaluate(
        """hidden => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def test_the_tab_title_counts_messages_that_arrive_while_the_tab_is_hidden(pair):
    alice, bob, code = pair
    set_tab_hidden(alice.page, True)
    bob.say("one")
    bob.say("two")
    expect(alice.page).to_have_title(f"(2) Room {code} · chatsite")
    set_tab_hidden(alice.page, False)
    expect(alice.page).to_have_title(f"Room {code} · chatsite")
