"""Search from the room page: the box, the hits with their words marked, a click to the message."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import audit

pytestmark = pytest.mark.browser


@pytest.fixture
def searched(person):
    """Ann's room with a few messages, and her search for 'lazy dog' from the room page's box."""
    ann = person("Ann")
    code = ann.create_room()
    for text in ["the quick brown fox", "a lazy <b>dog</b> sleeps", "nothing to see"]:
        ann.say(text)
        ann.expect_message(text)
    ann.page.get_by_label("Search this room").fill("lazy dog")
    ann.page.get_by_label("Search this room").press("Enter")
    expect(ann.page.get_by_role("heading", name=f"Search room {code}")).to_be_visible()
    return ann, code


def test_a_hit_shows_its_words_marked_and_opens_the_message(searched):
    ann, code = searched
    hits = ann.page.locator(".search-hit")
    expect(hits).to_have_count(1)
    expect(hits.locator("mark")).to_have_text(["lazy", "dog"])
    expect(hits).to_contain_text("a lazy <b>dog</b> sleeps")  # the body's markup is text
    hits.get_by_role("link").click()
    expect(ann.page).to_have_url(re.compile(rf"/rooms/{code}/m/\d+/$"))
    ann.expect_message("a lazy <b>dog</b> sleeps")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_search_page_has_no_serious_violation(searched, scheme):
    ann, _ = searched
    ann.page.emulate_media(color_scheme=scheme)
    assert audit(ann.page) == []
