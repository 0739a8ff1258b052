"""Names nobody can take: a rename or a join name that looks like (rooms/lookalikes.py) the name
of a member present in the room (and, once roles exist, of its owner or a moderator) is refused
with `name_taken`; a random name is drawn again until it is free."""
import secrets

from rooms import lookalikes, names, protocol, selectors
from rooms.errors import ChatError
from rooms.models import Room

RANDOM_ATTEMPTS = 20


def _taken_keys(rooms, public_id):
    taken = set()
    for name in selectors.protected_names(rooms, exclude=public_id):
        taken |= lookalikes.keys(name)
    return taken


def rooms_of(public_id, room=None):
    """The rooms whose names a rename of this identity must not collide with: the room it is
    renaming from (if any) and every room it is present in (the new name shows in all of them)."""
    rooms = list(Room.objects.filter(presences__public_id=public_id).distinct())
    if room is not None and all(r.pk != room.pk for r in rooms):
        rooms.append(room)
    return rooms


def name_check(*, name, rooms, public_id):
    """Raise ChatError(name_taken) if `name` looks like a protected name in any of `rooms`."""
    if not rooms:
        return
    taken = _taken_keys(rooms, public_id)
    if not lookalikes.keys(name).isdisjoint(taken):
        raise ChatError(protocol.NAME_TAKEN, f"Someone in this room is already called {name.strip()!r}, or a name "
                                             "that looks just like it; please choose another.")


def is_taken(*, name, rooms, public_id):
    try:
        name_check(name=name, rooms=rooms, public_id=public_id)
    except ChatError:
        return True
    return False


def random_free_name(*, rooms, public_id):
    """A random name that looks like no protected name of `rooms`."""
    taken = _taken_keys(rooms, public_id) if rooms else set()
    name = names.random_name()
    for _ in range(RANDOM_ATTEMPTS):
        if lookalikes.keys(name).isdisjoint(taken):
            return name
        name = names.random_name()
    return f"{name} {secrets.randbelow(900) + 100}"
