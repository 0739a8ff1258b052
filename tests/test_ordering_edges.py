"""A room's order at its edges (rooms/live/ordering.py): the last change sent arriving again,
a fill that includes it, and ticks released while changes are still held."""
from rooms.live.ordering import SeqOrder
from tests.test_ordering import change, texts, tick


def test_the_last_change_sent_arriving_again_is_dropped_and_leaves_no_gap_to_wait_for():
    order = SeqOrder(0)
    order.take([change(1), change(2)])
    assert order.take([change(2)]) == []
    assert not order.waiting
    assert texts(order.take([change(3)])) == ["c3"]


def test_a_fill_never_sends_again_the_change_at_the_cursor():
    order = SeqOrder(0)
    order.take([change(1), change(2), change(4)])
    assert texts(order.fill(4, [(2, "c2"), (3, "c3"), (4, "c4")])) == ["c3", "c4"]


def test_a_tick_waiting_behind_held_changes_goes_out_when_they_do():
    order = SeqOrder(1)
    order.take([change(3), change(5), tick(2)])
    assert texts(order.take([change(2)])) == ["c2", "c3", "t2"]  # c5 still waits for 4
    assert order.waiting and order.gap_end() == 5


def test_ticks_still_ahead_keep_waiting_after_others_went_out():
    order = SeqOrder(0)
    assert order.take([tick(1), tick(3)]) == []
    assert texts(order.take([change(1)])) == ["c1", "t1"]
    assert order.take([tick(4)]) == []
    assert texts(order.take([change(2), change(3)])) == ["c2", "c3", "t3"]
    assert texts(order.take([change(4)])) == ["c4", "t4"]
