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
CONVERSATION = [
    ("Alice", "Morning all! Is the release still on for Thursday?"),
    ("Bob", "Yes, as far as I know. QA signed off yesterday."),
    ("Chen", "I still have one migration to review, should be done by lunch."),
    ("Alice", "Great. Notes are here: https://example.com/release-notes"),
    ("Dana", "I can write the announcement if nobody has started it yet."),
    ("Bob", "Please do, thank you!"),
    ("Chen", "Also: the staging box was slow this morning.\nAnyone else see that?"),
    ("Dana", "Yes, around 9:15. It recovered after a few minutes."),
    ("Alice", "I'll keep an eye on it."),
    ("Alice", "And I'll ping the infra channel if it happens again."),
    ("Bob", "Lunch at 12:30?"),
    ("Dana", "Sounds good."),
    ("Chen", "Count me in!"),
]


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
            for name, text in CONVERSATION:
                people[name].say(text)
                people["Alice"].expect_message(text.split("\n")[0])
            for size, viewport in SIZES.items():
                for scheme in SCHEMES:
                    viewer = people["Alice"].new_tab()
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
