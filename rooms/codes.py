"""Room codes: random, from `secrets`, never a reserved code, and normalised for joining."""
import secrets
import string

ALPHABET = string.ascii_uppercase


def random_code(length):
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize_code(raw):
    """What a person typed into the code field, as the code it names (may be empty)."""
    if not isinstance(raw, str):
        return ""
    return raw.strip().upper()


def looks_like_code(code):
    return 0 < len(code) <= 16 and code.isascii() and code.isalnum()
