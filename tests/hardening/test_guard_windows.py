"""The counting behind the guards, without sockets: keyed sliding windows and room codes."""
import random

from rooms import codes
from rooms.live.guards import KeyedWindow


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
