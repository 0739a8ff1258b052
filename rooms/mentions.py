"""@mentions: the names a body may mention, and which of them it does (pure; the lookup is in selectors).

`@Name` mentions an identity whose name is Name, case-insensitively (rooms.names.name_key),
names with spaces included (`@Quiet Otter`). A name ends where a word does: `@Bob's` mentions
Bob, `@Bobby` does not. Where several names fit (`@Quiet` and `@Quiet Otter`), the longest that
names someone wins. An `@` inside a word (`ann@example.org`) mentions nobody.
"""
from rooms.names import name_key

AT_SIGNS_MAX = 20  # a body's first twenty @ signs are looked at
NAME_MAX = 64  # characters after an @ that can belong to a name (Identity.name's length)


def _wordy(ch):
    return ch.isalnum() or ch == "_"


def _starts(body):
    """Where each mention's name would begin: after an @ at the start of a word."""
    starts = []
    at = body.find("@")
    while at != -1 and len(starts) < AT_SIGNS_MAX:
        if at == 0 or not _wordy(body[at - 1]):
            starts.append(at + 1)
        at = body.find("@", at + 1)
    return starts


def _names_at(body, start):
    """(length, key) of every name that could follow the @ before `start`, longest first."""
    found = []
    for end in range(min(len(body), start + NAME_MAX), start, -1):
        if end < len(body) and _wordy(body[end - 1]) and _wordy(body[end]):
            continue  # it would cut a word in two
        if body[end - 1].isspace():
            continue  # names are stored trimmed
        found.append((end - start, name_key(body[start:end])))
    return found


def candidate_keys(body):
    """Every name key the body could mention: what to look up. Empty without an @."""
    if "@" not in body:
        return set()
    return {key for start in _starts(body) for _, key in _names_at(body, start)}


def resolve(body, ids_by_key):
    """The public ids the body mentions, in order of first mention, given {name key: [public id]}
    of the identities that can be mentioned here (present in the room or who wrote in it)."""
    mentioned = {}
    for start in _starts(body):
        for _, key in _names_at(body, start):
            if key in ids_by_key:
                for public_id in ids_by_key[key]:
                    mentioned.setdefault(public_id, None)
                break  # the longest name that names someone wins
    return list(mentioned)
