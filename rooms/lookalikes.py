"""When two names look the same: NFKC, case folding, invisible characters dropped, and Unicode's
confusables skeleton (TR39, its data from the `confusable-homoglyphs` package). Pure functions.

`skeleton(name)` is the key two names are compared by: "Alice", "ALICE", "Аlice" (a Cyrillic А),
"Ａｌｉｃｅ" (fullwidth) and "Al\u200dice" (a zero-width joiner inside) all have the same one.
The steps:

1. NFKC: compatibility forms become their plain letters (fullwidth Ａ is A, ﬁ is fi).
2. Default-ignorable code points are dropped (zero-width space and joiners, soft hyphen,
   variation selectors, word joiner, invisible operators, Hangul fillers, tags): they draw nothing.
3. Case folding (ß is ss, Σ is σ), so the comparison ignores case, in every script.
4. Each character is replaced by its TR39 prototype (Cyrillic а is a, Greek ο is o, 1 is l).
5. NFKC and case folding again, since a prototype may be an upper-case letter or a compatibility form.

Case is folded before the skeleton, as the issue asks ("ignoring case"): "Ivan" and "ivan" match.
A capital I and a small l, which look alike in many fonts, match through `keys`, which also
takes the skeleton of the unfolded name.
"""
import functools
import json
import unicodedata
from importlib import resources

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt), which unicodedata does not expose:
# the ranges that are not of category Cf (format characters are all dropped as well).
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_LRM = "\u200e"  # the package wraps right-to-left prototypes in these marks


def is_ignorable(ch):
    """Whether a character draws nothing (Default_Ignorable_Code_Point, or a format character)."""
    code = ord(ch)
    if unicodedata.category(ch) == "Cf":
        return True
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


@functools.cache
def _prototypes():
    """{character: its TR39 prototype} from the package's confusables.json.

    That file lists each confusable pair both ways (a source under its prototype and the
    prototype under each source). A source has exactly one entry, its prototype, and a
    prototype is never a source (TR39 skeletons are idempotent); so a single-entry character
    whose partner lists other characters too is a source. Where two characters only list each
    other, either may be the prototype: both are mapped to the smaller one, which gives the same
    equality as TR39.
    """
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    table = {}
    for char, entries in data.items():
        if len(char) != 1 or len(entries) != 1:
            continue
        target = entries[0]["c"].replace(_LRM, "")
        if not target or target == char:
            continue
        back = data.get(target) or data.get(entries[0]["c"]) or []
        if len(back) == 1 and len(target) == 1 and back[0]["c"].replace(_LRM, "") == char:
            table[char] = min(char, target)  # a pair that only lists each other
        else:
            table[char] = target
    return table


@functools.cache
def _drop_ignorable():
    """A str.translate table that deletes every ignorable character (built once, ~0.3 s)."""
    table = dict.fromkeys(code for low, high in _IGNORABLE_RANGES for code in range(low, high + 1))
    table.update(dict.fromkeys(code for code in range(0x110000) if unicodedata.category(chr(code)) == "Cf"))
    return table


@functools.cache
def _to_prototype():
    return {ord(char): target for char, target in _prototypes().items()}


def _fold(text):
    return unicodedata.normalize("NFKC", text).translate(_drop_ignorable()).casefold()


def _prototype_of(text):
    return text.translate(_to_prototype())


def skeleton(name):
    """The comparison key of a name: equal for names that differ only by case, compatibility
    forms, invisible characters and look-alike letters of other scripts."""
    return _fold(_prototype_of(_fold(name))).strip()


@functools.lru_cache(maxsize=65536)  # the same few names are compared again and again
def keys(name):
    """The keys under which `name` is protected or compared: its skeleton, and the skeleton of
    the name with its case kept (capital I and small l look alike; small i and l do not)."""
    kept_case = unicodedata.normalize("NFKC", name).translate(_drop_ignorable())
    return frozenset({skeleton(name), skeleton(_prototype_of(kept_case))})


def looks_like(a, b):
    """Whether two names would be taken for each other."""
    return not keys(a).isdisjoint(keys(b))
