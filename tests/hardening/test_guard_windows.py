"""The counting behind the guards, without sockets: keyed sliding windows and room codes."""
import random

from rooms import codes
from rooms.live.guards import KeyedWindow, address_key


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_key_is_full_after_count_events_within_the_window():
    clock = Clock()
    window = KeyedWindow((3, 10), clock=clock)
    assert [window.add("a") for _ in range(3)] == [False, False, True]
    assert window.retry_after("a") == 10
    assert window.retry_after("b") == 0


def test_events_older_than_the_window_stop_counting():
    clock = Clock()
    window = KeyedWindow((2, 10), clock=clock)
    window.add("a")
    clock.now = 5
    window.add("a")
    clock.now = 10
    assert window.retry_after("a") == 0
    clock.now = 20
    assert window.retry_after("a") == 0 and len(window) == 0


def test_the_number_of_remembered_keys_is_bounded():
    window = KeyedWindow((5, 60), max_keys=100)
    for n in range(10_000):
        window.add(f"10.0.{n // 256}.{n % 256}")
    assert len(window) == 100


def test_memory_per_key_is_bounded_by_the_count():
    window = KeyedWindow((5, 60))
    for _ in range(10_000):
        window.add("a")
    assert len(window.events["a"]) == 5


def test_no_rate_means_no_limit():
    window = KeyedWindow(None)
    assert not any(window.add("a") for _ in range(1000))
    assert window.retry_after("a") == 0


def test_room_codes_do_not_come_from_the_seedable_generator():
    random.seed(1)
    first = [codes.random_code(8) for _ in range(5)]
    random.seed(1)
    assert [codes.random_code(8) for _ in range(5)] != first


def test_a_blocked_key_is_not_forgotten_when_many_other_keys_come():
    # A guesser with many addresses must not unblock one of them by making the others known.
    clock = Clock()
    window = KeyedWindow((3, 300), max_keys=100, clock=clock)
    for _ in range(3):
        window.add("blocked")
    for n in range(10_000):
        clock.now += 0.001
        window.add(f"10.1.{n // 256}.{n % 256}")
    assert window.retry_after("blocked") > 0
    assert len(window) <= 101


def test_check_and_count_is_one_step():
    window = KeyedWindow((2, 60), clock=Clock())
    assert window.take("a") and window.take("a")
    assert not window.take("a")  # at the limit: refused, and nothing more counted
    assert len(window.events["a"]) == 2


def test_ipv6_addresses_are_counted_by_their_64_and_ipv4_as_they_are():
    assert address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("203.0.113.9") == "203.0.113.9"
    assert address_key(None) is None
