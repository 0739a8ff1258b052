"""The rules a chosen name follows and how names compare (rooms/names.py), at their edges.
The reasons are matched whole: the rename form shows them to the person as they are."""
import pytest

from rooms import names


def test_a_random_name_is_an_adjective_and_an_animal():
    for _ in range(20):
        adjective, animal = names.random_name().split(" ")
        assert adjective in names.ADJECTIVES and animal in names.ANIMALS


def test_a_name_is_trimmed_and_may_be_exactly_the_longest_allowed():
    assert names.clean_name("  Zoë Quinn \t", 9) == "Zoë Quinn"
    assert names.clean_name("x" * 9, 9) == "x" * 9
    with pytest.raises(ValueError, match=r"^The name can be at most 9 characters\.$"):
        names.clean_name("x" * 10, 9)


@pytest.mark.parametrize("raw", [None, 42, b"bytes"])
def test_a_name_must_be_text(raw):
    with pytest.raises(ValueError, match=r"^The name must be text\.$"):
        names.clean_name(raw, 32)


@pytest.mark.parametrize("raw", ["Eve\u202eliA", "\u2066Bob", "Al\u200fice", "Bo\u061cb"])
def test_text_direction_controls_are_refused(raw):
    with pytest.raises(ValueError, match=r"^The name may not contain text-direction control characters\.$"):
        names.clean_name(raw, 32)


@pytest.mark.parametrize("raw", ["Bo\x07b", "Bob\x00", "Bo\u2028b", "Bo\u2029b", "Bo\ud800b"])
def test_control_characters_and_line_breaks_are_refused(raw):
    with pytest.raises(ValueError, match=r"^The name may not contain control characters\.$"):
        names.clean_name(raw, 32)


@pytest.mark.parametrize("raw", ["", "   ", "\u200b", "\u200b\u200d", "\u0301", "\u20dd", "\u3164", "\u2800\u115f",
                                 "\u1160", "\uffa0", "\u00a0\u2003", "\u3164 \u3164", "\u200b\u3000\u200b"])
def test_a_name_with_nothing_visible_is_no_name(raw):
    assert names.clean_name(raw, 32) is None


@pytest.mark.parametrize("raw", ["a\u200b", "\u3164b", "e\u0301", "_", "🙂"])
def test_one_visible_character_is_enough(raw):
    assert names.clean_name(raw, 32) == raw


def test_names_compare_without_case_whatever_the_script_and_the_composition():
    assert names.name_key("Straße") == names.name_key("STRASSE")
    assert names.name_key("Zoe\u0308") == names.name_key("ZOË")
    assert names.name_key("Quiet Otter") == "quiet otter"
    assert names.name_key("E\u0301") == "\u00e9"  # composed: the form the stored keys have
