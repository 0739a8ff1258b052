"""Fixtures for the browser tests: the real server, one Chromium, and people in their own contexts."""
import os

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.people import CHROMIUM, CHROMIUM_ARGS, Person
from tests.browser.server import new_server

expect.set_options(timeout=5000)


@pytest.fixture(scope="session")
def server():
    server = new_server()
    yield server
    server.stop()
    server.remove_files()


@pytest.fixture
def own_server():
    """A server of the test's own, for tests that stop and start it."""
    server = new_server()
    yield server
    server.stop()
    server.remove_files()


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (set CHROMIUM_PATH or install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def person(browser, server):
    """person("Alice") -> a Person in a fresh browser context on the session's server."""
    people = []

    def _person(name, on=None, **context_options):
        people.append(Person(browser, on or server, name, **context_options))
        return people[-1]

    yield _person
    for someone in people:
        try:
            someone.close()
        except Exception:
            pass
    for someone in people:
        assert not someone.errors, f"{someone.name}'s page raised: {someone.errors}"
