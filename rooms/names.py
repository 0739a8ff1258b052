"""Random display names ("Quiet Otter") and the rules a chosen name must follow."""
import secrets
import unicodedata

ADJECTIVES = (
    "Amber", "Brave", "Bright", "Calm", "Clever", "Cosy", "Curious", "Daring", "Eager", "Fancy",
    "Gentle", "Golden", "Happy", "Jolly", "Kind", "Lively", "Lucky", "Mellow", "Merry", "Misty",
    "Noble", "Plucky", "Quick", "Quiet", "Rosy", "Silver", "Sleepy", "Snowy", "Sunny", "Swift",
    "Tidy", "Witty",
)
ANIMALS = (
    "Badger", "Beaver", "Crane", "Dolphin", "Falcon", "Ferret", "Finch", "Fox", "Gecko", "Heron",
    "Hedgehog", "Koala", "Lemur", "Lynx", "Marten", "Moose", "Newt", "Ocelot", "Otter", "Owl",
    "Panda", "Puffin", "Quokka", "Raven", "Robin", "Seal", "Sparrow", "Stoat", "Tapir", "Tiger",
    "Walrus", "Wombat",
)

# Characters that can make a name lie about itself: direction overrides and invisible marks.
_BIDI_CONTROLS = {chr(c) for c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C)}
# Letters and symbols that draw nothing (Hangul fillers, the blank braille cell): visible to
# Unicode, invisible on screen, so a name made only of them is as empty as one of spaces.
_BLANK_GLYPHS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def random_name():
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)}"


def clean_name(raw, max_length):
    """Return the name a person asked for, trimmed; None if nothing visible is left.

    Raises ValueError with a human reason when the name cannot be used.
    """
    if not isinstance(raw, str):
        raise ValueError("The name must be text.")
    name = raw.strip()
    if any(ch in _BIDI_CONTROLS for ch in name):
        raise ValueError("The name may not contain text-direction control characters.")
    if any(unicodedata.category(ch) in {"Cc", "Cs", "Zl", "Zp"} for ch in name):
        raise ValueError("The name may not contain control characters.")
    if len(name) > max_length:
        raise ValueError(f"The name can be at most {max_length} characters.")
    if not any(unicodedata.category(ch) not in {"Cf", "Zs", "Mn", "Me"} and ch not in _BLANK_GLYPHS for ch in name):
        return None
    return name


def name_key(name):
    """How names compare for @mentions: case-insensitive, whatever the script (ß is ss)."""
    return unicodedata.normalize("NFC", name).casefold()
