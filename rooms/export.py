"""A room's whole history as JSON Lines or Markdown, read in keyset pages so that a room of any
size is streamed with one page in memory (the view, `manage.py export_room`).

A JSON line is the protocol's `message` frame of the message's final state (docs/protocol.md),
with what is only true on this server left out so that the file is the same on any server: no
`id` and no `client_id` (messages are known by their `seq`, which moves with them), and a reply's
`reply_to` names its original by `seq` instead of `id`. Each line also says at which seq the
message was last edited, had its reactions changed and was deleted (`edited_seq`,
`reactions_seq`, `deleted_seq`, null if never), which is what `?after=` replays; a deleted
message stays as its tombstone (empty body), as in the database. rooms/importer.py reads it back.
"""
from asgiref.sync import sync_to_async

from rooms import protocol
from rooms.models import Message

PAGE = 1000  # messages per keyset page
FORMATS = ("jsonl", "md")


def pages(room, after=0, size=PAGE):
    """The room's messages with seq > `after`, in seq order, a list of at most `size` at a time."""
    last = after
    while True:
        rows = list(Message.objects.in_room(room).after_seq(last).order_by("seq").with_author()[:size])
        if not rows:
            return
        yield rows
        last = rows[-1].seq


def line(msg):
    """The export object of one message (see the module docstring)."""
    frame = protocol.message(msg)
    del frame["id"], frame["client_id"]
    if frame["reply_to"] is not None:
        original = frame["reply_to"]
        frame["reply_to"] = {"seq": msg.reply_to.seq, "author": original["author"], "excerpt": original["excerpt"]}
    frame["edited_seq"] = msg.edited_seq
    frame["reactions_seq"] = msg.reactions_seq
    frame["deleted_seq"] = msg.deleted_seq
    return frame


def _markdown(msg):
    meta = f"**{msg.author.name}** · {protocol.message(msg)['sent_at']} · #{msg.seq}"
    if msg.deleted_seq is not None:
        return f"{meta}\n\n_message deleted_\n\n"
    if msg.edited_at is not None:
        meta += " · edited"
    parts = [meta]
    if msg.reply_to_id is not None and msg.reply_to is not None:
        quoted = "deleted" if msg.reply_to.deleted_seq is not None else msg.reply_to.body[: protocol.EXCERPT_LENGTH]
        parts.append(f"> ↪ {msg.reply_to.author.name} #{msg.reply_to.seq}: " + " ".join(quoted.split()))
    # The body as typed, each line of it kept a line of its own (two spaces: a Markdown break).
    parts.append("  \n".join(msg.body.splitlines()))
    if msg.reactions:
        parts.append(" · ".join(f"{r['emoji']} {r['count']}" for r in msg.reactions))
    return "\n\n".join(parts) + "\n\n"


def header(room, fmt):
    return f"# Room {room.code}\n\n" if fmt == "md" else ""


def chunk(rows, fmt):
    """One page of messages as text in the format."""
    if fmt == "md":
        return "".join(_markdown(m) for m in rows)
    return "".join(protocol.dumps(line(m)) + "\n" for m in rows)


def text_chunks(room, fmt="jsonl", after=0):
    """The export as text chunks (one per page), for a file or a synchronous stream."""
    first = header(room, fmt)
    if first:
        yield first
    for rows in pages(room, after):
        yield chunk(rows, fmt)


def _next_chunk(room, fmt, after):
    rows = list(Message.objects.in_room(room).after_seq(after).order_by("seq").with_author()[:PAGE])
    return (chunk(rows, fmt), rows[-1].seq) if rows else (None, after)


async def byte_chunks(room, fmt="jsonl", after=0, on_close=None):
    """The export as an async stream of bytes: under ASGI, Django reads a synchronous iterator
    into a list before sending it, which is what streaming must avoid. Each page is read off the
    event loop. `on_close` runs when the stream ends, however it ends."""
    read = sync_to_async(_next_chunk)
    try:
        first = header(room, fmt)
        if first:
            yield first.encode()
        while True:
            text, after = await read(room, fmt, after)
            if text is None:
                return
            yield text.encode()
    finally:
        if on_close is not None:
            on_close()
