"""A room's frames in seq order: hold what arrives ahead of a gap, release it when the gap closes.

With several workers, two senders' frames reach a third worker in the order the channel layer
delivers them, not in seq order (measured on a raw socket: 1, 3, 5, 2, 4). Each worker keeps one
SeqOrder per room it has sockets in. A change whose seq is the next one goes out at once (the
common case costs a comparison); one that comes early waits in `held` until the gap closes,
or until the fan-out gives up waiting and fills the gap from the database (`fill`). A tick waits
until every change up to its seq has gone out, so a tick never shows a client a gap that the
server is about to close. Frames without a seq (presence, typing, renames) go out at once.

Pure and synchronous: no sockets, no database, no clock; rooms/live/fanout.py drives it.
"""

PLAIN, CHANGE, TICK = 0, 1, 2  # the kinds of (kind, seq, text) items; seq is None for PLAIN


class SeqOrder:
    """The order of one room's changes on one worker, from `cursor` (the last seq sent) on."""

    __slots__ = ("cursor", "held", "ticks")

    def __init__(self, cursor):
        self.cursor = cursor
        self.held = {}  # seq -> text of changes that arrived ahead of a gap
        self.ticks = []  # (seq, text) of ticks ahead of the cursor, in arrival order

    @property
    def waiting(self):
        """True while something waits for a gap to close."""
        return bool(self.held or self.ticks)

    def gap_end(self):
        """The highest seq something waits for: a fill from the database goes up to here."""
        return max([*self.held, *(seq for seq, _ in self.ticks)], default=self.cursor)

    def take(self, items):
        """One publish's items, in their order -> the (seq or None, text) to send now, in order."""
        out = []
        for kind, seq, text in items:
            if kind == CHANGE:
                if seq == self.cursor + 1 and not self.held:
                    self.cursor = seq
                    out.append((seq, text))
                    if self.ticks:
                        self._release_ticks(out)
                elif seq > self.cursor:
                    self.held[seq] = text
                    self._release(out)
                # seq <= cursor: a change sent already (a repeat through another path)
            elif kind == TICK:
                if seq <= self.cursor:
                    out.append((None, text))
                else:
                    self.ticks.append((seq, text))
            else:
                out.append((None, text))
        return out

    def fill(self, upto, changes):
        """The database's changes in (cursor, upto] as (seq, text), in seq order -> what to send now.

        A change still held wins over the database's copy of it (same seq, same change); a seq
        that neither has was a change that no longer exists (a message deleted meanwhile, whose
        delete follows) and is skipped.
        """
        out = []
        if upto > self.cursor:
            merged = {seq: text for seq, text in changes if self.cursor < seq <= upto}
            for seq in [s for s in self.held if s <= upto]:
                merged[seq] = self.held.pop(seq)
            out.extend(sorted(merged.items()))
            self.cursor = upto
        self._release(out)
        return out

    def _release(self, out):
        held = self.held
        while held:
            text = held.pop(self.cursor + 1, None)
            if text is None:
                break
            self.cursor += 1
            out.append((self.cursor, text))
        if self.ticks:
            self._release_ticks(out)

    def _release_ticks(self, out):
        ready = [tick for tick in self.ticks if tick[0] <= self.cursor]
        if ready:
            self.ticks = [tick for tick in self.ticks if tick[0] > self.cursor]
            out.extend((None, text) for _, text in ready)
