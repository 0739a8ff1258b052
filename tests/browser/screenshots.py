"""Screenshots of the home page and a busy room for docs/screenshots/.

Run: .venv/bin/python -m tests.browser.screenshots
Desktop (1280x800) and phone (390x844) sizes, light and dark colour schemes.
"""

from playwright.sync_api import expect, sync_playwright

from tests.browser.people import CHROMIUM, CHROMIUM_ARGS, Person
from tests.browser.server import ROOT, new_server

OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")
# (who, text, the message it replies to or None); Alice reads up to READ_UPTO, then is away.
CONVERSATION = [
    ("Alice", "Morning all! Is the **release** still on for Thursday?", None),
    ("Bob", "Yes, as far as I know. QA signed off yesterday.", None),
    ("Chen", "I still have one migration to review, should be done by lunch.", None),
    ("Alice", "Great. Notes are here: https://example.com/release-notes", None),
    ("Dana", "I can write the announcement if nobody has started it yet.", None),
    ("Bob", "Please do, thank you!", "I can write the announcement"),
    ("Chen", "Also: the staging box was slow this morning.\nAnyone else see that?", None),
    ("Dana", "Yes, around 9:15. It recovered after a few minutes.", "staging box"),
    ("Chen", "@Alice could you ping infra about it? The log says:\n```\nwarn: pool exhausted (32/32)\n```", None),
    ("Bob", "Lunch at 12:30?", None),
    ("Dana", "Sounds good.", None),
]
READ_UPTO = 5
REACTIONS = [("Bob", "I can write the announcement", "🙏"), ("Chen", "I can write the announcement", "🙏"),
             ("Alice", "QA signed off", "🎉"), ("Dana", "QA signed off", "🎉"), ("Chen", "Lunch at", "👍")]
HIDDEN = """
Object.defineProperty(document, "hidden", { get: () => true, configurable: true });
Object.defineProperty(document, "visibilityState", { get: () => "hidden", configurable: true });
"""


def shoot(page, name):
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=OUT / f"{name}.png")
    print("wrote", OUT / f"{name}.png")


def keep_typing(typist, viewer):
    """A typing notice from `typist` that `viewer` sees (the client sends one every 3 s at most)."""
    box = typist.page.get_by_label("Message", exact=True)
    box.fill("")
    box.press_sequentially("I think we", delay=400)
    expect(viewer.locator("#typing")).to_contain_text("typing", timeout=8000)


def message_menu(someone, text):
    message = someone.messages().filter(has=someone.page.locator(".body", has_text=text))
    message.hover()
    message.locator(".actions-button").click()
    return someone.page.get_by_role("menu")


def say(someone, text, reply_to):
    if reply_to:
        message_menu(someone, reply_to).get_by_role("menuitem", name="Reply").click()
    someone.say(text)


def react(someone, text, emoji):
    message_menu(someone, text).get_by_role("menuitem", name="Add a reaction…").click()
    someone.page.get_by_role("button", name=f"React with {emoji}").click()


def main():
    server = new_server()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            people = {name: Person(browser, server, name, viewport=SIZES["desktop"]) for name in ("Alice", "Bob", "Chen", "Dana")}
            for size, viewport in SIZES.items():
                for scheme in SCHEMES:
                    page = browser.new_page(viewport=viewport, color_scheme=scheme, base_url=server.base_url)
                    page.goto("/")
                    shoot(page, f"home-{size}-{scheme}")
                    page.close()
            code = people["Alice"].create_room()
            for name in ("Bob", "Chen", "Dana"):
                people[name].join_by_code(code)
            for n, (name, text, reply_to) in enumerate(CONVERSATION):
                if n == READ_UPTO:  # Alice has read this far (her page says so), then steps away
                    people["Alice"].page.wait_for_timeout(2500)
                    people["Alice"].page.goto("/")
                say(people[name], text, reply_to)
                people["Bob"].expect_message(text.replace("**", "").split("\n")[0])
            for name, text, emoji in REACTIONS:
                if name == "Alice":
                    people["Alice"].open_room(code)
                react(people[name], text, emoji)
            people["Alice"].page.goto("/")
            expect(people["Bob"].page.locator(".reaction")).to_have_count(3)
            for size, viewport in SIZES.items():
                for scheme in SCHEMES:
                    viewer = people["Alice"].new_tab()
                    viewer.add_init_script(HIDDEN)  # it reads nothing, so each shot keeps the divider
                    viewer.set_viewport_size(viewport)
                    viewer.emulate_media(color_scheme=scheme)
                    people["Alice"].open_room(code, viewer)
                    keep_typing(people["Chen"], viewer)
                    shoot(viewer, f"room-{size}-{scheme}")
                    viewer.close()
            browser.close()
    finally:
        server.stop()
        server.remove_files()


if __name__ == "__main__":
    main()
