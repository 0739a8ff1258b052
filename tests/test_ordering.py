"""A room's order on one worker (rooms/live/ordering.py): changes out in seq order, ticks after them."""
from rooms.live.ordering import CHANGE, PLAIN, TICK, SeqOrder


def change(seq):
    return (CHANGE, seq, f"c{seq}")


def tick(seq):
    return (TICK, seq, f"t{seq}")


def texts(out):
    return [text for _, text in out]


def test_changes_in_order_go_out_at_once():
    order = SeqOrder(4)
    assert order.take([change(5), change(6)]) == [(5, "c5"), (6, "c6")]
    assert order.cursor == 6 and not order.waiting


def test_a_change_ahead_of_a_gap_waits_until_the_gap_closes():
    order = SeqOrder(0)
    assert texts(order.take([change(1), change(3), change(5)])) == ["c1"]
    assert order.waiting and order.gap_end() == 5
    assert texts(order.take([change(2)])) == ["c2", "c3"]
    assert texts(order.take([change(4)])) == ["c4", "c5"]
    assert order.cursor == 5 and not order.waiting


def test_a_change_already_sent_is_not_sent_again():
    order = SeqOrder(0)
    order.take([change(1), change(2)])
    assert order.take([change(2), change(1)]) == []
    assert order.cursor == 2


def test_frames_without_a_seq_go_out_at_once_in_their_place():
    order = SeqOrder(0)
    assert texts(order.take([change(1), (PLAIN, None, "join"), change(3), (PLAIN, None, "typing")])) == [
        "c1", "join", "typing"
    ]


def test_a_tick_waits_for_every_change_up_to_its_seq():
    order = SeqOrder(2)
    assert order.take([tick(2)]) == [(None, "t2")]
    assert order.take([tick(4)]) == []
    assert texts(order.take([change(3)])) == ["c3"]
    assert texts(order.take([change(4)])) == ["c4", "t4"]
    assert not order.waiting


def test_a_fill_sends_the_missing_changes_and_what_waited_in_seq_order():
    order = SeqOrder(1)
    order.take([change(4), tick(5)])
    assert order.gap_end() == 5
    out = order.fill(5, [(2, "db2"), (3, "db3"), (4, "db4"), (5, "db5")])
    # The held copy of 4 wins over the database's; the tick follows the changes it covers.
    assert out == [(2, "db2"), (3, "db3"), (4, "c4"), (5, "db5"), (None, "t5")]
    assert order.cursor == 5 and not order.waiting


def test_a_seq_the_database_no_longer_has_is_skipped_by_a_fill():
    order = SeqOrder(0)
    order.take([change(3)])
    assert order.fill(3, [(2, "db2")]) == [(2, "db2"), (3, "c3")]
    assert order.take([change(4)]) == [(4, "c4")]


def test_a_fill_cut_short_leaves_the_rest_waiting():
    order = SeqOrder(0)
    order.take([change(10)])
    assert texts(order.fill(5, [(n, f"db{n}") for n in range(1, 6)])) == ["db1", "db2", "db3", "db4", "db5"]
    assert order.waiting and order.cursor == 5
    assert texts(order.fill(10, [(n, f"db{n}") for n in range(6, 10)])) == ["db6", "db7", "db8", "db9", "c10"]


def test_changes_that_arrive_during_a_fill_are_not_sent_twice():
    order = SeqOrder(0)
    order.take([change(3)])
    upto = order.gap_end()
    # While the database is read, the missing changes arrive after all: 1, 2 and 3 go out now.
    assert texts(order.take([change(1), change(2)])) == ["c1", "c2", "c3"]
    assert order.fill(upto, [(1, "db1"), (2, "db2"), (3, "db3")]) == []
    assert order.cursor == 3
