"""The per-socket rate limit at its edges (rooms/live/ratelimit.py), on a clock the test moves."""
import pytest

from rooms.live.ratelimit import SlidingWindow, parse_rate


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("text, rate", [
    ("20/10", (20, 10.0)), (" 3/0.5 ", (3, 0.5)), ("1/1", (1, 1.0)),
    ("off", None), ("OFF", None), ("none", None), ("0", None), ("", None), (None, None),
])
def test_a_rate_is_count_per_seconds_or_off(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["0/10", "-1/10", "5/0", "5/-1", "abc", "5", "5/x"])
def test_a_rate_that_is_not_two_positive_numbers_is_refused(text):
    with pytest.raises(ValueError):
        parse_rate(text)


def test_a_refused_rate_is_explained_with_what_was_given():
    with pytest.raises(ValueError, match=r"<count>/<seconds> with both positive, got '0/10'"):
        parse_rate("0/10")


def test_count_hits_are_allowed_in_a_window_and_the_next_waits_until_the_first_leaves_it():
    clock = Clock()
    window = SlidingWindow((3, 10.0), clock)
    for step in range(3):
        clock.now = 100.0 + step
        assert window.allow()
    clock.now = 105.0
    assert not window.allow()
    assert window.retry_after() == pytest.approx(5.0)  # the first hit leaves the window at 110
    clock.now = 109.999
    assert not window.allow()
    clock.now = 110.0  # exactly `seconds` after the first hit: it no longer counts
    assert window.allow()
    assert not window.allow()  # the hits at 101, 102 and 110 fill the window again


def test_a_refused_hit_does_not_count():
    clock = Clock()
    window = SlidingWindow((1, 10.0), clock)
    assert window.allow()
    for _ in range(5):
        clock.now += 1
        assert not window.allow()
    clock.now = 110.0
    assert window.allow()


def test_retry_after_is_zero_before_any_hit_with_no_limit_and_once_the_window_is_past():
    clock = Clock()
    assert SlidingWindow((2, 10.0), clock).retry_after() == 0.0
    unlimited = SlidingWindow(None, clock)
    assert all(unlimited.allow() for _ in range(1000))
    assert unlimited.retry_after() == 0.0
    window = SlidingWindow((1, 10.0), clock)
    window.allow()
    clock.now = 130.0
    assert window.retry_after() == 0.0


def test_a_socket_that_only_listens_keeps_no_hit_list():
    window = SlidingWindow((20, 10.0), Clock())
    assert window.hits is None
    window.allow()
    assert list(window.hits) == [100.0]
