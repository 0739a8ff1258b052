"""Per-connection rate limits: a sliding window of `count` events in `seconds`."""
import time
from collections import deque


def parse_rate(text):
    """'20/10' -> (20, 10.0); 'off' or '' -> None. Raises ValueError on anything else."""
    text = (text or "").strip().lower()
    if text in {"", "off", "none", "0"}:
        return None
    count, _, seconds = text.partition("/")
    count, seconds = int(count), float(seconds)
    if count < 1 or seconds <= 0:
        raise ValueError(f"rate must be <count>/<seconds> with both positive, got {text!r}")
    return count, seconds


class SlidingWindow:
    """Allows at most `count` hits in any `seconds`-long window; `None` rate allows all.

    Every socket has three of these; the deque of hit times is made on the first hit, since an
    empty deque costs ~760 bytes and most sockets of a big room only listen.
    """

    __slots__ = ("rate", "clock", "hits")

    def __init__(self, rate, clock=time.monotonic):
        self.rate = rate
        self.clock = clock
        self.hits = None

    def allow(self):
        if self.rate is None:
            return True
        count, seconds = self.rate
        now = self.clock()
        hits = self.hits
        if hits is None:
            hits = self.hits = deque()
        while hits and now - hits[0] >= seconds:
            hits.popleft()
        if len(hits) >= count:
            return False
        hits.append(now)
        return True

    def retry_after(self):
        if self.rate is None or not self.hits:
            return 0.0
        return max(0.0, self.rate[1] - (self.clock() - self.hits[0]))
