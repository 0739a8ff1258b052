"""@mentions at the edges of words (rooms/mentions.py): one-letter names, underscores, names
with a short last word."""
from rooms import mentions
from rooms.names import name_key


def _resolve(body, names):
    return mentions.resolve(body, {name_key(name): [name] for name in names})


def test_a_one_letter_name_is_not_found_inside_a_longer_word():
    assert _resolve("@Al, hello", ["A"]) == []
    assert _resolve("@A, hello", ["A"]) == ["A"]


def test_an_underscore_belongs_to_the_word():
    assert _resolve("@bob_x hi", ["bob"]) == []
    assert _resolve("@bob_x hi", ["bob", "bob_x"]) == ["bob_x"]


def test_a_name_whose_last_word_is_one_letter_is_found_whole():
    assert _resolve("@Al B, see this", ["Al B"]) == ["Al B"]
    assert _resolve("@Al B, see this", ["Al", "Al B"]) == ["Al B"]
