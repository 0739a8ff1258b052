"""Server-to-client WebSocket text frames as bytes, made once and written to many sockets.

A server frame is never masked (RFC 6455, section 5.1) and chatsite's servers never negotiate
compression, so the bytes of a frame are the same for every socket: rooms/live/fanout.py frames a
room's batch once per worker with this and each server's `write_frames` writes the bytes.
"""

EXTENSION = "chatsite.frames"  # the ASGI extension through which a server offers prepare/write_frames


def text_frames(texts):
    """The wire bytes of `texts`, one final, unmasked text frame each (RFC 6455, section 5.2)."""
    out = bytearray()
    for text in texts:
        payload = text.encode()
        length = len(payload)
        if length < 126:
            out += bytes((0x81, length))
        elif length < 65536:
            out += b"\x81\x7e" + length.to_bytes(2, "big")
        else:
            out += b"\x81\x7f" + length.to_bytes(8, "big")
        out += payload
    return bytes(out)
