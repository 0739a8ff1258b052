"""A person at a browser: their own context (cookie jar), pages, and what they do and see."""
import os
import shutil

from playwright.sync_api import expect

# Playwright cannot download its own browsers here: the system's Chromium runs the tests.
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Records every status the page shows: "Back online" lasts only seconds, a test may look later.
STATUS_LOG = """
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("status");
  if (!status) return;
  window.statusLog = [status.textContent];
  new MutationObserver(() => window.statusLog.push(status.textContent))
    .observe(status, { childList: true, characterData: true, subtree: true });
});
"""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Person:
    """One browser context (one person, one cookie jar) and its first page."""

    def __init__(self, browser, server, name, **context_options):
        self.name = name
        self.server = server
        self.context = browser.new_context(base_url=server.base_url, **context_options)
        self.context.add_init_script(STATUS_LOG)
        self.dialogs = []
        self.errors = []
        self.page = self.new_tab()

    def new_tab(self):
        page = self.context.new_page()
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    # -- ways in --

    def create_room(self):
        self.page.goto("/")
        self.page.get_by_label("Your name").fill(self.name)
        self.page.get_by_role("button", name="Create a room").click()
        self.expect_online()
        return self.page.locator("#room-code").inner_text()

    def join_by_code(self, code):
        self.page.goto("/")
        self.page.get_by_label("Your name").fill(self.name)
        self.page.get_by_label("Room code").fill(code.lower())
        self.page.get_by_role("button", name="Join", exact=True).click()
        self.expect_online()

    def open_room(self, code, page=None):
        page = page or self.page
        page.goto(f"/rooms/{code}/")
        self.expect_online(page)

    def expect_online(self, page=None):
        expect((page or self.page).locator("#status")).to_have_text("Online")

    # -- talking --

    def say(self, text, page=None):
        box = (page or self.page).get_by_label("Message", exact=True)
        box.fill(text)
        box.press("Enter")

    def messages(self, page=None):
        """The confirmed messages on screen, oldest first."""
        return (page or self.page).locator("#messages li.message")

    def bodies(self, page=None):
        return self.messages(page).locator(".body").all_inner_texts()

    def expect_bodies(self, bodies, page=None):
        """The confirmed messages read exactly `bodies`, in order (waiting for echoes in flight)."""
        expect(self.messages(page).locator(".body")).to_have_text(bodies)

    def expect_message(self, text, page=None):
        expect(self.messages(page).filter(has_text=text)).to_have_count(1)

    def expect_message_within(self, text, timeout, page=None):
        expect(self.messages(page).filter(has_text=text)).to_have_count(1, timeout=timeout)

    def members(self, page=None):
        return (page or self.page).locator("#member-list li .name")

    def statuses(self, page=None):
        """Every status text the page has shown since it loaded, in order."""
        return (page or self.page).evaluate("window.statusLog")

    def close(self):
        self.context.close()
