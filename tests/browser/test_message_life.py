"""A message's life in two browsers: edit, delete, reply, react, mention, notify, unread, permalinks, formatting."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SEED = """
from asgiref.sync import async_to_sync
from rooms import services
from rooms.live.writer import message_send
room = services.room_create()
author = services.identity_create(name="Seeder")
send = async_to_sync(message_send)
original = send(room=room, author=author, body="the original question")[0]
for n in range(1, {count} + 1):
    send(room=room, author=author, body=f"filler {{n}}")
send(room=room, author=author, body="an answer at last", reply_to=original["id"])
print(room.code, original["id"])
"""


def seed(server, count):
    """A room whose first message is answered by its last, `count` messages later: (code, original id)."""
    code, original = server.manage("shell", "-c", SEED.format(count=count)).stdout.split()[-2:]
    return code, int(original)


def open_menu(someone, text, page=None):
    page = page or someone.page
    message = someone.messages(page).filter(has_text=text)
    message.hover()
    message.locator(".actions-button").click()
    return page.get_by_role("menu")


def in_a_room(person):
    alice, bob = person("Alice"), person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    return alice, bob, code


def test_editing_your_own_message_shows_the_new_text_to_the_other_person(person):
    alice, bob, _ = in_a_room(person)
    alice.say("helo everyone")
    bob.expect_message("helo everyone")
    open_menu(alice, "helo everyone").get_by_role("menuitem", name="Edit").click()
    box = alice.page.get_by_label("Message", exact=True)
    expect(box).to_have_value("helo everyone")
    box.fill("hello everyone")
    box.press("Enter")
    bob.expect_bodies(["hello everyone"])
    expect(bob.messages().locator(".edited")).to_be_visible()


def test_up_arrow_in_an_empty_composer_edits_your_last_message(person):
    alice, bob, _ = in_a_room(person)
    alice.say("first")
    alice.say("secnd")
    bob.expect_message("secnd")
    box = alice.page.get_by_label("Message", exact=True)
    box.press("ArrowUp")
    expect(box).to_have_value("secnd")
    box.fill("second")
    box.press("Enter")
    bob.expect_bodies(["first", "second"])


def test_someone_elses_message_has_no_edit_or_delete_in_its_menu(person):
    alice, bob, _ = in_a_room(person)
    alice.say("mine alone")
    bob.expect_message("mine alone")
    menu = open_menu(bob, "mine alone")
    # (Report… is issue 15's: anyone may report someone else's message.)
    expect(menu.get_by_role("menuitem")).to_have_text(["Reply", "Add a reaction…", "Copy link to message", "Report…"])


def test_deleting_your_own_message_asks_first_then_removes_it_for_everyone(person):
    alice, bob, _ = in_a_room(person)
    alice.say("regrettable")
    bob.expect_message("regrettable")
    open_menu(alice, "regrettable").get_by_role("menuitem", name="Delete…").click()
    dialog = alice.page.get_by_role("dialog", name="Delete this message?")
    expect(dialog).to_contain_text("regrettable")
    dialog.get_by_role("button", name="Cancel").click()
    expect(alice.messages()).to_have_count(1)
    open_menu(alice, "regrettable").get_by_role("menuitem", name="Delete…").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(bob.messages()).to_have_count(0)
    expect(alice.messages()).to_have_count(0)


def test_the_menu_works_from_the_keyboard(person):
    alice, bob, _ = in_a_room(person)
    bob.say("keyboard please")
    alice.expect_message("keyboard please")
    button = alice.messages().filter(has_text="keyboard please").locator(".actions-button")
    button.focus()
    alice.page.keyboard.press("Enter")
    expect(alice.page.get_by_role("menuitem", name="Reply")).to_be_focused()
    alice.page.keyboard.press("ArrowDown")
    expect(alice.page.get_by_role("menuitem", name="Add a reaction…")).to_be_focused()
    alice.page.keyboard.press("Escape")
    expect(alice.page.get_by_role("menu")).to_be_hidden()
    expect(button).to_be_focused()


def test_a_reply_quotes_its_original_for_the_other_person(person):
    alice, bob, _ = in_a_room(person)
    alice.say("Lunch at noon?")
    bob.expect_message("Lunch at noon?")
    open_menu(bob, "Lunch at noon?").get_by_role("menuitem", name="Reply").click()
    expect(bob.page.locator("#composer-context")).to_contain_text("Replying to Alice")
    bob.say("Yes!")
    reply = alice.messages().filter(has_text="Yes!")
    expect(reply.locator(".reply-quote")).to_contain_text("Alice")
    expect(reply.locator(".reply-quote")).to_contain_text("Lunch at noon?")


def test_clicking_a_reply_jumps_to_its_original_500_messages_back(person, server):
    code, original = seed(server, 500)
    alice = person("Alice")
    alice.open_room(code)
    alice.messages().filter(has_text="an answer at last").locator(".reply-quote").click()
    target = alice.page.locator(f'#messages li[data-id="{original}"]')
    expect(target).to_be_in_viewport()
    expect(target).to_contain_text("the original question")
    jump = alice.page.get_by_role("button", name=re.compile("Jump to latest|New messages"))
    jump.click()
    expect(alice.messages().filter(has_text="an answer at last")).to_be_in_viewport()


def test_a_reaction_and_taking_it_back_are_seen_by_the_other_person(person):
    alice, bob, _ = in_a_room(person)
    alice.say("ship it?")
    bob.expect_message("ship it?")
    open_menu(bob, "ship it?").get_by_role("menuitem", name="Add a reaction…").click()
    bob.page.get_by_role("button", name="React with 🎉").click()
    reaction = alice.messages().filter(has_text="ship it?").locator(".reaction")
    expect(reaction).to_have_text(re.compile("🎉\\s*1"))
    expect(reaction).to_have_attribute("aria-pressed", "false")
    expect(reaction).to_have_attribute("aria-label", re.compile("Bob"))
    mine = bob.messages().filter(has_text="ship it?").locator(".reaction")
    expect(mine).to_have_attribute("aria-pressed", "true")
    mine.click()
    expect(reaction).to_have_count(0)


def test_any_emoji_typed_in_the_picker_becomes_a_reaction(person):
    alice, bob, _ = in_a_room(person)
    alice.say("flags?")
    bob.expect_message("flags?")
    open_menu(bob, "flags?").get_by_role("menuitem", name="Add a reaction…").click()
    field = bob.page.get_by_label("Any emoji")
    field.fill("not one")
    field.press("Enter")
    expect(bob.page.locator("#picker-error")).to_be_visible()
    field.fill("🇫🇷")
    field.press("Enter")
    expect(alice.messages().filter(has_text="flags?").locator(".reaction")).to_have_text(re.compile("🇫🇷\\s*1"))


def test_typing_at_offers_members_and_a_mention_is_highlighted_for_them(person):
    alice, bob, _ = in_a_room(person)
    box = bob.page.get_by_label("Message", exact=True)
    box.press_sequentially("thanks @al")
    option = bob.page.get_by_role("option", name="Alice")
    expect(option).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value("thanks @Alice ")
    box.press_sequentially("for the notes")
    box.press("Enter")
    mention = alice.messages().filter(has_text="for the notes")
    expect(mention).to_have_class(re.compile("mentions-me"))
    expect(mention.locator(".mention")).to_have_text("@Alice")
    expect(bob.messages().filter(has_text="for the notes")).not_to_have_class(re.compile("mentions-me"))


def test_the_autocomplete_takes_a_click_too(person):
    alice, bob, _ = in_a_room(person)
    box = bob.page.get_by_label("Message", exact=True)
    box.press_sequentially("@A")
    bob.page.get_by_role("option", name="Alice").click()
    expect(box).to_have_value("@Alice ")


SPY = """
window.shownNotifications = [];
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) {
    super(title, options);
    window.shownNotifications.push({ title, body: options && options.body });
  }
};
"""
HIDE = """
Object.defineProperty(document, "hidden", { get: () => true, configurable: true });
Object.defineProperty(document, "visibilityState", { get: () => "hidden", configurable: true });
document.dispatchEvent(new Event("visibilitychange"));
"""


def test_a_mention_while_the_tab_is_hidden_shows_a_notification_and_counts_in_the_title(person):
    alice = person("Alice", permissions=["notifications"])
    alice.context.add_init_script(SPY)
    bob = person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    alice.page.evaluate(HIDE)
    bob.say("just chatting")
    bob.say("@Alice can you look?")
    alice.expect_message("can you look?")
    shown = alice.page.evaluate("window.shownNotifications")
    assert shown == [{"title": f"Bob mentioned you in Room {code}", "body": "@Alice can you look?"}]
    expect(alice.page).to_have_title(re.compile(r"^\(2, @1\) Room"))


def test_the_notification_setting_off_shows_none(person):
    alice = person("Alice", permissions=["notifications"])
    alice.context.add_init_script(SPY)
    bob = person("Bob")
    code = alice.create_room()
    bob.join_by_code(code)
    alice.page.get_by_label("Notify me").select_option("off")
    alice.page.evaluate(HIDE)
    bob.say("@Alice psst")
    alice.expect_message("psst")
    assert alice.page.evaluate("window.shownNotifications") == []


def test_the_unread_divider_marks_what_came_since_the_last_visit_after_a_reload(person):
    alice, bob, code = in_a_room(person)
    bob.say("seen before")
    alice.expect_message("seen before")
    alice.page.wait_for_timeout(2500)  # the page's read goes out (at most one every 2 s)
    alice.page.goto("/")
    bob.say("new one")
    bob.say("and another")
    alice.open_room(code)
    divider = alice.page.locator("#messages .unread-divider")
    expect(divider).to_have_count(1)
    assert alice.page.locator("#messages > li").evaluate_all(
        "items => items.map(li => li.classList.contains('unread-divider') ? 'NEW' : li.querySelector('.body').textContent)"
    ) == ["seen before", "NEW", "new one", "and another"]


def test_reading_in_one_tab_clears_the_divider_in_another(person):
    alice, bob, code = in_a_room(person)
    bob.say("seen before")
    alice.expect_message("seen before")
    alice.page.wait_for_timeout(2500)
    alice.page.goto("/")
    bob.say("news")
    second = alice.new_tab()
    second.add_init_script(HIDE)  # a tab in the background: it reads nothing itself
    alice.open_room(code, second)
    expect(second.locator(".unread-divider")).to_have_count(1)
    alice.open_room(code)  # the first tab reads to the newest message
    expect(second.locator(".unread-divider")).to_have_count(0, timeout=8000)


def test_a_permalink_opens_at_its_message_in_a_fresh_browser(person, server):
    code, original = seed(server, 120)
    alice = person("Alice", permissions=["clipboard-read", "clipboard-write"])
    alice.open_room(code)
    alice.messages().filter(has_text="an answer at last").locator(".reply-quote").click()
    open_menu(alice, "the original question").get_by_role("menuitem", name="Copy link to message").click()
    link = alice.page.evaluate("navigator.clipboard.readText()")
    assert link.endswith(f"/rooms/{code}/m/{original}/")
    carol = person("Carol")
    carol.page.goto(link)
    carol.expect_online()
    target = carol.page.locator(f'#messages li[data-id="{original}"]')
    expect(target).to_be_in_viewport()
    expect(carol.messages().first).to_contain_text("the original question")
    carol.page.get_by_role("button", name=re.compile("Jump to latest|New messages")).click()
    expect(carol.messages().filter(has_text="an answer at last")).to_be_in_viewport()


FORMATTED = "**bold** and *slanted* and `code`\n> quoted\n```\nfenced <b>\n```\nsee https://example.com/x."
XSS = [
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(2))",
    "javascript:alert(3)",
    "**<script>alert(4)</script>**",
    "`<iframe src=javascript:alert(5)>`",
    "> <svg onload=alert(6)>",
    'http://example.com/"onmouseover="alert(7)',
    "```\n</code></pre><img src=x onerror=alert(8)>\n```",
    "*<a href=javascript:alert(9)>x</a>*",
    "data:text/html,<script>alert(10)</script>",
]


def test_formatting_is_drawn_from_the_plain_text(person):
    alice, bob, _ = in_a_room(person)
    alice.say(FORMATTED)
    bob.expect_message("quoted")
    body = bob.messages().locator(".body")
    expect(body.locator("strong")).to_have_text("bold")
    expect(body.locator("em")).to_have_text("slanted")
    expect(body.locator(":scope > span code")).to_have_text("code")
    expect(body.locator("blockquote")).to_have_text("quoted")
    expect(body.locator("pre code")).to_have_text("fenced <b>")
    expect(body.locator("a")).to_have_attribute("href", "https://example.com/x")


def test_markup_and_scripts_in_markdown_show_as_text_and_run_nothing(person):
    alice, bob, code = in_a_room(person)
    for text in XSS:
        alice.say(text)
    bob.expect_message("alert(10)")
    bob.page.reload()
    bob.expect_online()
    for someone in (alice, bob):
        page = someone.page
        expect(page.locator("#messages .body img, #messages .body script, #messages .body iframe, "
                            "#messages .body svg, #messages .body b")).to_have_count(0)
        hrefs = page.locator("#messages .body a").evaluate_all("links => links.map(a => a.href)")
        assert all(href.startswith(("http://", "https://")) for href in hrefs), hrefs
        assert "alert(2)" in page.locator("#messages").inner_text()
    assert alice.dialogs == bob.dialogs == []
