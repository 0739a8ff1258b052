"""Lost connections, lost frames and a server restart: nothing lost, nothing doubled."""
import pytest
from playwright.sync_api import expect

from tests.browser.tap import SocketTap

pytestmark = pytest.mark.browser

RECONNECT_TIMEOUT = 15000  # backoff with jitter: a few attempts may pass before the server is back
TICK_TIMEOUT = 8000  # the server sends a tick every CHAT_TICK_SECONDS (5 s)


def is_message(body):
    return lambda frame: frame["type"] == "message" and frame["body"] == body


@pytest.fixture
def tapped_pair(person):
    """Alice, whose socket runs through a tap, and Bob, in a room Bob created."""
    alice, bob = person("Alice"), person("Bob")
    tap = SocketTap(alice.page)
    code = bob.create_room()
    alice.join_by_code(code)
    return alice, bob, tap


def test_a_server_restart_loses_and_doubles_nothing(person, own_server):
    alice, bob = person("Alice", on=own_server), person("Bob", on=own_server)
    code = alice.create_room()
    bob.join_by_code(code)
    alice.say("before 1")
    bob.say("before 2")
    alice.expect_message("before 2")
    own_server.stop()
    expect(alice.page.locator("#status")).to_have_text("Reconnecting…")
    expect(bob.page.locator("#status")).to_have_text("Reconnecting…")
    alice.say("during")
    expect(alice.page.locator("#pending .body")).to_have_text(["during"])
    expect(alice.page.locator("#pending .sending")).to_have_text(["Sending…"])
    own_server.start()
    bob.expect_message("during")
    bob.say("after 1")
    alice.say("after 2")
    expected = ["before 1", "before 2", "during", "after 1", "after 2"]
    for someone in (alice, bob):
        expect(someone.messages().locator(".body")).to_have_text(expected, timeout=RECONNECT_TIMEOUT)
        expect(someone.page.locator("#pending li")).to_have_count(0)
        assert "Back online" in someone.statuses()
        someone.page.reload()
        expect(someone.messages().locator(".body")).to_have_text(expected)


def test_a_message_sent_while_offline_is_delivered_once_after_reconnecting(tapped_pair):
    alice, bob, tap = tapped_pair
    tap.cut()
    expect(alice.page.locator("#status")).to_have_text("Reconnecting…")
    alice.say("written offline")
    expect(alice.page.locator("#pending li")).to_contain_text("written offline")
    bob.page.wait_for_timeout(300)
    expect(bob.messages()).to_have_count(0)
    tap.restore()
    bob.expect_message("written offline")
    expect(alice.page.locator("#status")).to_have_text("Back online", timeout=RECONNECT_TIMEOUT)
    alice.expect_message("written offline")
    expect(alice.page.locator("#pending li")).to_have_count(0)
    for someone in (alice, bob):
        someone.expect_bodies(["written offline"])


def test_the_socket_resumes_after_the_last_change_it_had(tapped_pair):
    alice, bob, tap = tapped_pair
    bob.say("one")
    alice.expect_message("one")
    seq = alice.messages().last.get_attribute("data-seq")
    tap.cut()
    bob.say("two")
    tap.restore()
    alice.expect_message("two")
    assert tap.urls[-1].endswith(f"?after={seq}")
    alice.expect_bodies(["one", "two"])


def test_a_message_whose_echo_was_lost_is_not_doubled_by_the_resend(tapped_pair):
    alice, bob, tap = tapped_pair
    tap.drop_to_page = is_message("echo lost")
    alice.say("echo lost")
    bob.expect_message("echo lost")
    expect(alice.page.locator("#pending li")).to_contain_text("echo lost")
    tap.cut()
    tap.drop_to_page = lambda frame: False
    tap.restore()
    alice.expect_message("echo lost")
    expect(alice.page.locator("#pending li")).to_have_count(0)
    bob.say("next")
    alice.expect_message("next")
    for someone in (alice, bob):
        someone.expect_bodies(["echo lost", "next"])


def test_a_pending_message_survives_a_reload_while_offline(tapped_pair):
    alice, bob, tap = tapped_pair
    tap.cut()
    alice.say("kept across the reload")
    alice.page.reload()
    expect(alice.page.locator("#pending li")).to_contain_text("kept across the reload")
    tap.restore()
    bob.expect_message("kept across the reload")
    alice.expect_message("kept across the reload")
    expect(alice.page.locator("#pending li")).to_have_count(0)
    bob.expect_bodies(["kept across the reload"])


def test_a_lost_broadcast_is_fetched_when_the_next_one_skips_a_number(tapped_pair):
    alice, bob, tap = tapped_pair
    lost = is_message("lost on the way")
    tap.drop_to_page = lambda frame: lost(frame) or frame["type"] == "tick"  # only the gap can tell
    bob.say("lost on the way")
    bob.say("arrives")
    alice.expect_message("arrives")
    alice.expect_bodies(["lost on the way", "arrives"])


def test_frames_that_overtake_each_other_are_shown_in_order_without_asking_the_server(tapped_pair):
    # With two workers a room's frames can arrive a few milliseconds out of seq order.
    alice, bob, tap = tapped_pair
    held, asked = [], []
    first = is_message("first")

    def hold_first(frame):
        if first(frame):
            held.append(frame)
            return True
        if frame["type"] == "message" and frame["body"] == "second" and held:
            tap.send_to_page(frame)  # the later frame overtakes the earlier one
            tap.send_to_page(held.pop())
            return True
        return frame["type"] == "tick"

    tap.drop_to_page = hold_first
    tap.drop_to_server = lambda frame: asked.append(frame) if frame["type"] == "sync" else False
    bob.say("first")
    bob.say("second")
    alice.expect_bodies(["first", "second"])
    alice.page.wait_for_timeout(600)
    assert asked == []


def test_a_lost_broadcast_with_nothing_after_it_arrives_with_the_next_tick(tapped_pair):
    alice, bob, tap = tapped_pair
    tap.drop_to_page = is_message("only a tick tells")
    bob.say("only a tick tells")
    bob.expect_message("only a tick tells")
    expect(alice.messages()).to_have_count(0)
    alice.expect_message_within("only a tick tells", TICK_TIMEOUT)


def test_a_deleted_message_disappears_and_a_late_copy_does_not_bring_it_back(tapped_pair):
    alice, bob, tap = tapped_pair
    bob.say("soon gone")
    alice.expect_message("soon gone")
    frame_id = int(alice.messages().last.get_attribute("data-id"))
    seq = int(alice.messages().last.get_attribute("data-seq"))
    tap.send_to_page({"type": "delete", "id": frame_id, "seq": seq + 1})
    expect(alice.messages()).to_have_count(0)
    author = {"id": "someone", "name": "Bob", "avatar": "/avatars/someone.svg"}
    tap.send_to_page({"type": "message", "id": frame_id, "seq": seq, "client_id": None,
                      "author": author, "body": "soon gone", "sent_at": "2026-01-01T00:00:00Z"})
    alice.page.wait_for_timeout(200)
    expect(alice.messages()).to_have_count(0)


def test_an_error_from_the_server_shows_next_to_the_composer(person):
    alice = person("Alice")
    tap = SocketTap(alice.page)
    alice.create_room()
    tap.send_to_page({"type": "error", "code": "message_too_long", "detail": "A message can be at most 2000 characters."})
    error = alice.page.locator("#composer-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("A message can be at most 2000 characters.")


def test_a_message_refused_for_the_rate_limit_is_sent_again_a_little_later(tapped_pair):
    alice, bob, tap = tapped_pair
    refused = []

    def refuse_once(frame):
        if frame["type"] == "message" and not refused:
            refused.append(frame)
            tap.send_to_page({"type": "error", "code": "rate_limited", "detail": "Too many frames; wait 2.0 s."})
            return True
        return False

    tap.drop_to_server = refuse_once
    alice.say("patience")
    expect(alice.page.locator("#composer-error")).to_have_text("Too many frames; wait 2.0 s.")
    bob.expect_message("patience")
    alice.expect_message("patience")
    bob.expect_bodies(["patience"])


def test_an_unsent_draft_survives_a_reload(person):
    alice = person("Alice")
    alice.create_room()
    alice.page.get_by_label("Message", exact=True).fill("half a thought")
    alice.page.reload()
    alice.expect_online()
    expect(alice.page.get_by_label("Message", exact=True)).to_have_value("half a thought")


def test_a_message_the_server_refuses_for_good_leaves_the_pending_list_and_returns_to_the_composer(tapped_pair):
    alice, bob, tap = tapped_pair

    def refuse(frame):
        if frame["type"] == "message" and frame["body"] == "refused text":
            tap.send_to_page({"type": "error", "code": "invalid_field", "client_id": frame["client_id"],
                              "detail": "'body' may not contain control characters (U+0007)."})
            return True
        return False

    tap.drop_to_server = refuse
    alice.say("refused text")
    expect(alice.page.locator("#composer-error")).to_contain_text("control characters")
    expect(alice.page.locator("#composer-input")).to_have_value("refused text")
    expect(alice.page.get_by_text("Sending…")).to_have_count(0)
    alice.page.reload()  # and it is not resent from storage on the next hello
    alice.say("accepted text")
    bob.expect_message("accepted text")
    bob.expect_bodies(["accepted text"])


def test_the_status_says_when_live_updates_are_delayed_and_when_they_are_back(tapped_pair):
    alice, bob, tap = tapped_pair
    status = alice.page.locator("#status")
    expect(status).to_have_text("Online")
    tap.send_to_page({"type": "tick", "seq": 0, "delayed": True})
    expect(status).to_have_text("Live updates delayed")
    tap.send_to_page({"type": "tick", "seq": 0})
    expect(status).to_have_text("Online")
