"""Run chatsite on uvicorn: `python -m chatsite.serve_uvicorn [--host H] [--port P] [--proxy-headers]`.

The production alternative to chatsite.serve (daphne), measured beside it in docs/benchmarks.md:
uvicorn with uvloop, httptools and the `websockets` protocol, compression off. `runserver` and
chatsite.serve stay on daphne; this needs `pip install uvicorn uvloop httptools`.

The same socket limits as chatsite.serve:
- incoming messages over CHAT_FRAME_MAX_BYTES are refused from the frame header (1009), by
  websockets' max_size, which applies to incoming messages only;
- a client that stops reading is dropped once CHAT_SEND_BUFFER_BYTES beyond the largest frame
  it was sent wait unsent (`write_frames`; ASGI sends wait for the buffer to drain anyway);
- each socket offers the `chatsite.frames` extension, so rooms/live/fanout.py frames a room's batch
  once and writes the same bytes to every socket of the room.
"""
import argparse
import logging
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol
from websockets.protocol import State

from rooms.live.servers import headers
from rooms.live.servers.frames import EXTENSION as FRAMES_EXTENSION
from rooms.live.servers.frames import text_frames

log = logging.getLogger("rooms.guards")

APPLICATION = "chatsite.asgi:application"


class ChatWebSocketProtocol(WebSocketProtocol):
    """uvicorn's websockets protocol, offering chatsite.frames with a send-buffer bound."""

    send_buffer_bytes = 0
    largest_frame = 0
    prepare_frames = staticmethod(text_frames)

    async def run_asgi(self):
        self.scope["extensions"][FRAMES_EXTENSION] = self
        await super().run_asgi()

    def write_frames(self, data):
        """Write bytes from prepare_frames, if the socket is open and its client keeps reading."""
        if self.state is not State.OPEN or self.transport.is_closing():
            return
        unsent = self.transport.get_write_buffer_size()
        if self.send_buffer_bytes > 0 and unsent > self.send_buffer_bytes + self.largest_frame:
            log.warning("socket dropped: %s stopped reading (%d bytes unsent)", self.client, unsent)
            self.transport.abort()
            return
        if len(data) > self.largest_frame:
            self.largest_frame = len(data)
        self.transport.write(data)


class ChatHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers do not come in
    time (rooms/live/servers/headers.py): from the connection's start for the first request,
    from its first byte for a later one on a kept-alive connection."""

    header_deadline = None

    def connection_made(self, transport):
        super().connection_made(transport)
        address = None
        if not self.config.proxy_headers:  # behind a proxy the cap per address is the proxy's
            address = headers.key(self.client[0] if self.client else None)
        self.header_deadline = headers.Deadline(address, self.loop.call_later, self.transport.abort)
        self.header_deadline.start()

    def on_message_begin(self):
        super().on_message_begin()
        if not self.header_deadline.running:
            self.header_deadline.start()

    def on_headers_complete(self):
        self.header_deadline.stop()
        super().on_headers_complete()

    def connection_lost(self, exc):
        if self.header_deadline is not None:
            self.header_deadline.stop()
        super().connection_lost(exc)


def main(argv=None):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import uvicorn
    from django.conf import settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-For from the proxy")
    args = parser.parse_args(argv)
    ChatWebSocketProtocol.send_buffer_bytes = settings.CHAT_SEND_BUFFER_BYTES
    uvicorn.run(
        APPLICATION,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http=ChatHttpProtocol,
        server_header=False,  # no product or version banner on pages or handshakes
        backlog=settings.CHAT_LISTEN_BACKLOG,
        ws=ChatWebSocketProtocol,
        ws_per_message_deflate=False,
        ws_max_size=settings.CHAT_FRAME_MAX_BYTES,
        proxy_headers=args.proxy_headers,
        lifespan="off",
        access_log=False,
    )


if __name__ == "__main__":
    main()
