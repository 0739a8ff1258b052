"""The comparison key of names (rooms/lookalikes.py): case, compatibility forms, invisible
characters and look-alike letters of other scripts do not make a name different."""
import pytest

from rooms.lookalikes import is_ignorable, keys, looks_like, skeleton


@pytest.mark.parametrize("other", [
    "аlice",                      # Cyrillic а
    "Аlісе",                      # Cyrillic А, і, с, е
    "ＡＬＩＣＥ",                  # fullwidth letters
    "Al\u200dice",                # a zero-width joiner inside
    "A\u200blice\ufeff",          # zero-width space, BOM
    "Ali\u00adce",                # soft hyphen
    "ALICE", "alice", "aLiCe",    # case
    "Alice\ufe0f",                # a variation selector
    "𝐀𝐥𝐢𝐜𝐞",                      # mathematical bold
])
def test_a_lookalike_of_alice_has_the_same_key(other):
    assert looks_like("Alice", other)


@pytest.mark.parametrize(("a", "b"), [
    ("Bob", "B0b"),                  # digit zero for O
    ("Quiet Otter", "Quiet 0tter"),
    ("Paypal", "Раураl"),            # Cyrillic р, а, у
    ("Nico", "Νico"),                # Greek capital nu
    ("straße", "STRASSE"),           # full case folding
    ("Ivan", "lvan"),                # capital I looks like small l
])
def test_known_confusables_match(a, b):
    assert looks_like(a, b)


@pytest.mark.parametrize(("a", "b"), [("Alice", "Alicia"), ("Bob", "Rob"), ("ivan", "lvan"), ("Anna", "Hanna")])
def test_different_names_stay_different(a, b):
    assert not looks_like(a, b)


def test_the_skeleton_is_ascii_for_a_cyrillic_spoof_and_idempotent():
    assert skeleton("Аdmin") == skeleton("admin") and skeleton("Аdmin").isascii()  # TR39 writes m as rn
    assert skeleton(skeleton("Ａｄｍｉｎ")) == skeleton("Ａｄｍｉｎ") == skeleton("admin")


def test_invisible_characters_are_ignorable_and_letters_are_not():
    assert all(is_ignorable(ch) for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f\u3164\ufe0f\U000e0041")
    assert not any(is_ignorable(ch) for ch in "aZ0 ё")


def test_keys_of_a_name_include_its_skeleton():
    assert skeleton("Alice") in keys("Alice")
