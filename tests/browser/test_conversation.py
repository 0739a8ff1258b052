"""Two people in a room: getting in, talking, and what a message can and cannot do."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MARKUP = '<img src=x onerror=alert(1)> and <script>alert(2)</script>'


def test_creating_a_room_opens_it_with_its_code_and_me_online(person):
    alice = person("Alice")
    code = alice.create_room()
    assert re.fullmatch(r"[A-Z0-9]{4,}", code)
    expect(alice.page).to_have_url(re.compile(f"/rooms/{code}/$"))
    expect(alice.members()).to_have_text(["Alice"])
    expect(alice.page.locator("#member-list .you")).to_have_text("(you)")


def test_joining_by_code_shows_each_person_to_the_other(person):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    expect(alice.members()).to_have_text(["Alice", "Bob"])
    expect(bob.members()).to_have_text(["Alice", "Bob"])
    expect(alice.page.locator("#member-count")).to_have_text("2")


def test_pressing_enter_in_the_code_field_joins_that_room(person):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.page.goto("/")
    bob.page.get_by_label("Room code").fill(code)
    bob.page.get_by_label("Room code").press("Enter")
    expect(bob.page).to_have_url(re.compile(f"/rooms/{code}/$"))


def test_the_copied_link_takes_someone_else_into_the_room(person):
    alice = person("Alice", permissions=["clipboard-read", "clipboard-write"])
    code = alice.create_room()
    alice.page.get_by_role("button", name="Copy link").click()
    expect(alice.page.get_by_role("button", name="Copied!")).to_be_visible()
    link = alice.page.evaluate("navigator.clipboard.readText()")
    carol = person("Carol")
    carol.page.goto(link)
    carol.expect_online()
    expect(carol.page.locator("#room-code")).to_have_text(code)
    expect(alice.members()).to_contain_text(["Alice", re.compile(r"^\w+ \w+$")])


def test_messages_travel_both_ways(person):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    alice.say("Hi Bob")
    bob.expect_message("Hi Bob")
    bob.say("Hello Alice")
    alice.expect_message("Hello Alice")
    for someone in (alice, bob):
        someone.expect_bodies(["Hi Bob", "Hello Alice"])


def test_enter_sends_and_shift_enter_starts_a_new_line(person):
    alice = person("Alice")
    alice.create_room()
    box = alice.page.get_by_label("Message", exact=True)
    box.press_sequentially("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(alice.messages()).to_have_count(0)
    box.press("Enter")
    alice.expect_message("first line")
    assert alice.bodies() == ["first line\nsecond line"]
    expect(box).to_have_value("")


def test_the_counter_shows_how_much_of_the_length_limit_is_used(person):
    alice = person("Alice")
    alice.create_room()
    alice.page.get_by_label("Message", exact=True).fill("hello")
    expect(alice.page.locator("#composer-count")).to_have_text("5 / 2000")


def test_markup_in_a_message_shows_as_text_and_runs_nothing(person):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    alice.say(MARKUP)
    bob.expect_message("onerror")
    bob.page.reload()
    bob.expect_online()
    for page in (alice.page, bob.page):
        expect(page.locator("#messages .body")).to_have_text([MARKUP])
        expect(page.locator("#messages .body img, #messages .body script")).to_have_count(0)
    assert alice.dialogs == bob.dialogs == []


def test_a_web_address_in_a_message_becomes_a_link_live_and_after_a_refresh(person):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    alice.say("notes at https://example.com/notes?a=1. thanks")
    bob.expect_message("notes at")
    alice.page.reload()  # the server renders the text; the page makes the same links
    for page in (bob.page, alice.page):
        link = page.get_by_role("link", name="https://example.com/notes?a=1")
        expect(link).to_have_attribute("href", "https://example.com/notes?a=1")
        expect(link).to_have_attribute("rel", re.compile("noopener"))
        expect(link).to_have_attribute("target", "_blank")
        expect(page.locator("#messages .body")).to_have_text(["notes at https://example.com/notes?a=1. thanks"])


def test_refreshing_the_page_keeps_the_whole_conversation(person):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    for n in range(3):
        alice.say(f"from Alice {n}")
        bob.say(f"from Bob {n}")
    alice.expect_message("from Bob 2")
    shown = alice.bodies()
    alice.page.reload()
    alice.expect_online()
    assert alice.bodies() == shown
    bob.say("after the refresh")
    alice.expect_message("after the refresh")
    assert alice.bodies() == shown + ["after the refresh"]


def moderator_session(server, username):
    """A logged-in admin session made in one shell call: no password to hash, no login page."""
    code = f"""
from django.contrib.auth import get_user_model, BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.create_superuser("{username}", "mod@example.com", None)
store = SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store.create()
print(store.session_key)
"""
    return server.manage("shell", "-c", code).stdout.split()[-1]


def test_a_message_deleted_by_a_moderator_disappears_from_open_pages(person, server):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    alice.say("keep me")
    alice.say("rude words")
    bob.expect_message("rude words")
    message_id = bob.messages().filter(has_text="rude words").get_attribute("data-id")
    moderator = person("Moderator")
    moderator.context.add_cookies([
        {"name": "sessionid", "value": moderator_session(server, f"mod-{code}"), "url": server.base_url},
    ])
    moderator.page.goto(f"/admin/rooms/message/{message_id}/delete/")
    moderator.page.get_by_role("button", name="Yes, I’m sure").click()
    for someone in (alice, bob):
        someone.expect_bodies(["keep me"])


def test_a_room_can_be_created_and_used_with_the_keyboard_alone(person):
    alice = person("Alice")
    page = alice.page
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Your name")).to_be_focused()
    page.keyboard.type("Alice")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Create a room")).to_be_focused()
    page.keyboard.press("Enter")
    alice.expect_online()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the message box")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    page.keyboard.type("typed without a mouse")
    page.keyboard.press("Enter")
    alice.expect_message("typed without a mouse")


def test_the_pages_break_no_rule_of_the_sites_content_security_policy(person):
    alice = person("Alice")
    refused = []
    alice.page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    alice.create_room()
    policy = alice.page.evaluate("fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    alice.say("no inline code needed")
    alice.expect_message("no inline code needed")
    alice.page.get_by_role("button", name="Copy link").click()
    expect(alice.page.get_by_role("button", name="Copied!")).to_be_visible()
    assert refused == []


def test_the_lobby_works_like_any_room(person):
    alice, bob = person("Alice"), person("Bob")
    for someone in (alice, bob):
        someone.page.goto("/")
        someone.page.get_by_role("button", name="Chat in the lobby").click()
        someone.expect_online()
    expect(alice.page.get_by_role("heading", name="Lobby")).to_be_visible()
    alice.say("hello lobby")
    bob.expect_message("hello lobby")
