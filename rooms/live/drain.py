"""A worker that is told to stop (SIGTERM: a deploy, a restart) lets its sockets go as a stream.

Closing every socket at once sends every client back at the same moment, to a worker that is
just starting (rooms/live/arrivals.py has to refuse some of them). So `drain` stops admitting
new sockets, closes the open ones spread over CHAT_DRAIN_SECONDS, each with an `error` frame
`service_restart` that says when to come back (`retry_after_ms`, spread too) and close code
1012 (service restart), then waits until the message writer has stored what it holds:
nothing that was acknowledged is lost, and nothing that was sent is dropped. The server
adapter calls it on SIGTERM and stops once it returns (rooms/live/servers/daphne_server.py).
"""
import asyncio
import logging
import random

from django.conf import settings

from rooms.live import arrivals, doorway, writer

log = logging.getLogger(__name__)


async def drain(seconds=None):
    """Close this event loop's sockets over `seconds` and let the writer finish; returns how many."""
    seconds = settings.CHAT_DRAIN_SECONDS if seconds is None else seconds
    arrivals.admission().draining = True
    sockets = doorway.sockets_here()
    random.shuffle(sockets)
    log.info("draining: closing %d sockets over %g s", len(sockets), seconds)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index, socket in enumerate(sockets):
        due = start + seconds * index / max(len(sockets), 1)
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        # Come back after this worker is gone and its successor is up: at least the rest of the
        # drain window, spread over as much again.
        come_back_ms = int(1000 * (seconds * (1 + random.random()) - (loop.time() - start)))
        try:
            await socket.close_for_restart(max(come_back_ms, 500))
        except Exception:
            log.debug("a socket could not be closed cleanly while draining", exc_info=True)
    await writer.idle()
    return len(sockets)
