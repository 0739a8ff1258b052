"""A message's reactions as the protocol shows them, and one identity's toggle of one emoji (pure)."""
from rooms import protocol
from rooms.errors import ChatError


def toggle(reactions, emoji, member_id):
    """[{"emoji", "count", "members"}] with `member_id`'s `emoji` added or taken away.

    Emoji keep the order of their first reaction and members the order they reacted in; an emoji
    nobody reacts with any more leaves the list. A new emoji past REACTIONS_MAX is refused.
    """
    result = []
    found = False
    for reaction in reactions:
        members = list(reaction["members"])
        if reaction["emoji"] == emoji:
            found = True
            if member_id in members:
                members.remove(member_id)
            else:
                members.append(member_id)
        if members:
            result.append({"emoji": reaction["emoji"], "count": len(members), "members": members})
    if not found:
        if len(reactions) >= protocol.REACTIONS_MAX:
            raise ChatError(
                protocol.TOO_MANY_REACTIONS, f"A message can have at most {protocol.REACTIONS_MAX} different reactions."
            )
        result.append({"emoji": emoji, "count": 1, "members": [member_id]})
    return result
