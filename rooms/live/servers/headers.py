"""Connections that send part of a request and then wait (slowloris) are closed, and capped per address.

A connection holds a socket and a little memory on the server for as long as it stays open. A
client that sends a request's headers slowly, a byte now and then, resets every idle timeout
and could hold connections forever (the review held 200 on each server, none closed after
25 s). So each request's headers must be complete within CHAT_HEADER_TIMEOUT seconds of its
first byte (of the connection, for the first request), and an address may have at most
CHAT_HEADER_PENDING_PER_ADDRESS connections waiting for their headers at once; past it a new
connection is closed at once. Behind nginx (which buffers a request's headers before it
passes them on) the same bounds are nginx's client_header_timeout and limit_conn, see
docs/deploy.md. Both server adapters count here.
"""
import logging

from django.conf import settings

from rooms.live.guards import address_key

log = logging.getLogger("rooms.guards")


class PendingHeaders:
    """Per address: connections whose request headers are not complete yet."""

    def __init__(self):
        self.counts = {}

    def start(self, address):
        """A connection of `address` waits for its headers; False if the address has too many."""
        limit = settings.CHAT_HEADER_PENDING_PER_ADDRESS
        waiting = self.counts.get(address, 0)
        if address is not None and 0 < limit <= waiting:
            log.warning("connection refused: %s already has %d waiting for their request headers", address, waiting)
            return False
        self.counts[address] = waiting + 1
        return True

    def stop(self, address):
        left = self.counts.get(address, 0) - 1
        if left > 0:
            self.counts[address] = left
        else:
            self.counts.pop(address, None)


pending = PendingHeaders()


class Deadline:
    """One connection's deadline for a request's headers, counted in `pending` by its address.

    The server adapter gives it its timer (`call_later(seconds, callback)` returning something
    with `cancel()`) and how to drop the connection (`abort()`)."""

    __slots__ = ("address", "call_later", "abort", "timer")

    def __init__(self, address, call_later, abort):
        self.address, self.call_later, self.abort = address, call_later, abort
        self.timer = None

    @property
    def running(self):
        return self.timer is not None

    def start(self):
        """The headers of a request are awaited; False (and the connection dropped) if its
        address already has too many connections waiting for theirs."""
        if not pending.start(self.address):
            self.abort()
            return False
        self.timer = self.call_later(timeout(), self._expired)
        return True

    def stop(self):
        """The headers came, or the connection went."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
            pending.stop(self.address)

    def _expired(self):
        self.timer = None
        pending.stop(self.address)
        too_slow(self.address)
        self.abort()


def timeout():
    return settings.CHAT_HEADER_TIMEOUT


def key(host):
    return address_key(host)


def too_slow(address):
    log.warning("connection closed: %s did not finish its request headers within %g s", address, timeout())
