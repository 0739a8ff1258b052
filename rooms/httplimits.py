"""Per-address bounds on the HTTP reads that cost the database most: searches per window
(CHAT_SEARCH_RATE_LIMIT) and exports streaming at once (CHAT_EXPORTS_PER_ADDRESS).

Counts live in this process, like the guards in rooms/live/guards.py (whose address key and
window they share); a request without an address is not counted."""
import threading

from django.conf import settings

from rooms.live.ratelimit import parse_rate

_state = None
_lock = threading.Lock()


class _Limits:
    def __init__(self):
        from rooms.live.guards import KeyedWindow

        self.searches = KeyedWindow(parse_rate(settings.CHAT_SEARCH_RATE_LIMIT))
        self.exports = {}  # address -> exports streaming now
        self.lock = threading.Lock()


def _limits():
    global _state
    with _lock:
        if _state is None:
            _state = _Limits()
        return _state


def reset():
    """Forget every count (for tests)."""
    global _state
    with _lock:
        _state = None


def search_wait(address):
    """0 if `address` may search now (and count it), else the seconds until it may."""
    if address is None:
        return 0
    limits = _limits()
    if limits.searches.take(address):
        return 0
    return max(1.0, limits.searches.retry_after(address))


class ExportSlot:
    """One of an address's CHAT_EXPORTS_PER_ADDRESS streams; release() gives it back (once)."""

    def __init__(self, address):
        self.address = address
        self.released = address is None

    def release(self):
        if self.released:
            return
        self.released = True
        limits = _limits()
        with limits.lock:
            left = limits.exports.get(self.address, 1) - 1
            if left > 0:
                limits.exports[self.address] = left
            else:
                limits.exports.pop(self.address, None)


def export_slot(address):
    """An ExportSlot for `address`, or None when it streams as many exports as it may."""
    if address is None:
        return ExportSlot(None)
    limits = _limits()
    with limits.lock:
        streaming = limits.exports.get(address, 0)
        if streaming >= settings.CHAT_EXPORTS_PER_ADDRESS:
            return None
        limits.exports[address] = streaming + 1
    return ExportSlot(address)
