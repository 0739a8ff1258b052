"""Room codes as typed and as generated (rooms/codes.py)."""
import string

import pytest

from rooms import codes


def test_a_random_code_has_the_length_asked_for_in_upper_case_letters():
    for length in (1, 4, 12):
        code = codes.random_code(length)
        assert len(code) == length and set(code) <= set(string.ascii_uppercase)


@pytest.mark.parametrize("typed, code", [(" abcd ", "ABCD"), ("AbCd", "ABCD"), ("", ""), (None, ""), (1234, "")])
def test_what_was_typed_is_trimmed_and_upper_cased(typed, code):
    assert codes.normalize_code(typed) == code


@pytest.mark.parametrize("code, looks", [
    ("ABCD", True), ("A", True), ("A" * 16, True), ("LOBBY2", True),
    ("", False), ("A" * 17, False), ("AB CD", False), ("AB-CD", False), ("ÄBCD", False), ("AB٣D", False),
])
def test_a_code_is_one_to_sixteen_ascii_letters_or_digits(code, looks):
    assert codes.looks_like_code(code) is looks
