"""The ceiling for Python: a bare `websockets` server relaying each frame to its room.

No pages, no sessions, no storage: a socket on /ws/rooms/<CODE>/ joins that room, and every
text frame it sends is framed once and written to every member with websockets.broadcast.
Compression is off, as in daphne. Run: python ws_relay.py PORT
"""
import asyncio
import sys
from collections import defaultdict

from websockets.asyncio.server import broadcast, serve

rooms = defaultdict(set)


async def relay(websocket):
    members = rooms[websocket.request.path]
    members.add(websocket)
    try:
        async for frame in websocket:
            broadcast(members, frame)
    finally:
        members.discard(websocket)


async def main(port):
    async with serve(relay, "127.0.0.1", port, compression=None, max_queue=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
