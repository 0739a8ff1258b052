"""A leaner in-memory channel layer for one worker: constant work per delivery, no silent drops.

channels' InMemoryChannelLayer walks every channel and every group membership on each `send`,
`receive` and `group_send` (`_clean_expired`), starts one task and makes one deepcopy per
recipient, and drops a message for any recipient whose queue is full without telling anyone.
Here:

- a group_send appends the same event to each member's queue: events are read-only by contract
  (broadcast.py builds the frame text once, consumers only read it), so nothing is copied;
- expiry is checked on the message being received, and group memberships are swept at most once
  a minute, so no operation walks every connection;
- a full queue is not a silent drop: the layer counts it and logs it, and with the option
  `overflow_event` (an event type, e.g. "room.overflow") the channel receives that event once
  its queue has drained to half, so the consumer can tell its client to sync at once instead of
  waiting for the next tick.
"""
import asyncio
import logging
import random
import string
import time
from collections import deque

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

log = logging.getLogger("rooms.layers")

class InMemoryChannelLayer(BaseChannelLayer):
    """Drop-in for channels.layers.InMemoryChannelLayer (same settings, same extensions)."""

    extensions = ["groups", "flush"]

    def __init__(self, expiry=60, group_expiry=86400, capacity=100, channel_capacity=None, overflow_event=None,
                 **kwargs):
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity, **kwargs)
        self.group_expiry = group_expiry
        self.overflow_event = overflow_event
        self.channels = {}    # channel -> deque of (expires at, event), as channels names it
        self.waiters = {}     # channel -> future of the consumer waiting in receive()
        self.groups = {}      # group -> {channel: joined at}
        self.overflowed = set()
        self.dropped = 0
        self._next_sweep = time.monotonic() + 60

    # ---- channels ----

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        assert "__asgi_channel__" not in message
        self.require_valid_channel_name(channel)
        if not self._put(channel, message, time.monotonic() + self.expiry):
            raise ChannelFull(channel)

    def _put(self, channel, message, expires):
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = deque()
        elif len(queue) >= self.get_capacity(channel):
            return False
        queue.append((expires, message))
        waiter = self.waiters.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        while True:
            queue = self.channels.get(channel)
            if channel in self.overflowed and queue is not None and len(queue) < self.get_capacity(channel) // 2:
                self.overflowed.discard(channel)
                return {"type": self.overflow_event}
            now = time.monotonic()
            while queue:
                expires, message = queue.popleft()
                if not queue:
                    del self.channels[channel]
                if expires >= now:
                    return message
                self._remove_from_groups(channel)  # as channels does: an expired channel is gone
            waiter = asyncio.get_running_loop().create_future()
            self.waiters[channel] = waiter
            try:
                await waiter
            finally:
                if self.waiters.get(channel) is waiter:
                    del self.waiters[channel]

    async def new_channel(self, prefix="specific."):
        return f"{prefix}.inmemory!{''.join(random.choices(string.ascii_letters, k=12))}"

    # ---- groups ----

    async def group_add(self, group, channel):
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        self.groups.setdefault(group, {})[channel] = time.time()

    async def group_discard(self, group, channel):
        self.require_valid_channel_name(channel)
        self.require_valid_group_name(group)
        members = self.groups.get(group)
        if members:
            members.pop(channel, None)
            if not members:
                del self.groups[group]

    async def group_send(self, group, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._sweep()
        members = self.groups.get(group)
        if not members:
            return
        expires = time.monotonic() + self.expiry
        put = self._put
        full = [channel for channel in list(members) if not put(channel, message, expires)]
        if full:
            self.dropped += len(full)
            if self.overflow_event:
                self.overflowed.update(full)
            log.warning("channel layer full: an event for %s missed %d recipient(s)", group, len(full))

    # ---- housekeeping ----

    def _sweep(self):
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        # Queues of channels nobody reads any more (their consumer is gone) would stay forever.
        for channel, queue in list(self.channels.items()):
            if queue and queue[-1][0] < now and channel not in self.waiters:
                del self.channels[channel]
        oldest = time.time() - self.group_expiry
        for group, members in list(self.groups.items()):
            for channel, joined in list(members.items()):
                if joined < oldest:
                    del members[channel]
            if not members:
                del self.groups[group]

    def _remove_from_groups(self, channel):
        for members in self.groups.values():
            members.pop(channel, None)

    async def flush(self):
        self.channels, self.groups, self.overflowed = {}, {}, set()

    async def close(self):
        pass
