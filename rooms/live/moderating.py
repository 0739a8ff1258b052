"""The socket's moderation frames (rooms/moderation.py does the work): one call each, thin.

RoomConsumer inherits these `on_<type>` handlers; its dispatch finds them by frame type."""
from channels.db import database_sync_to_async as db

from rooms import moderation, protocol
from rooms.live import doorway, guards


class ModerationHandlers:
    """Mixed into rooms/live/consumer.RoomConsumer: needs self.room, self.identity, self.scope."""

    removed = False  # kicked or banned: the socket is closing, and its frames are not heard

    def _actor(self):
        return moderation.Actor(identity=self.identity)

    async def shut(self, code):
        """Close this socket from the room's side (a kick or a ban, from any worker)."""
        self.removed = True
        await self.close(code=code)

    async def on_role(self, member_id, role):
        await db(moderation.role_set)(room=self.room, actor=self._actor(), member_id=member_id, role=role)

    async def on_mute(self, member_id, seconds, reason):
        await db(moderation.mute)(room=self.room, actor=self._actor(), member_id=member_id, seconds=seconds,
                                  reason=reason)

    async def on_kick(self, member_id, reason):
        await db(moderation.kick)(room=self.room, actor=self._actor(), member_id=member_id, reason=reason)

    async def on_ban(self, member_id, seconds, reason):
        await db(moderation.ban)(room=self.room, actor=self._actor(), member_id=member_id, seconds=seconds,
                                 reason=reason)
        return await db(moderation.bans_list)(room=self.room, actor=self._actor())

    async def on_unban(self, ban_id):
        await db(moderation.unban)(room=self.room, actor=self._actor(), ban_id=ban_id)
        return await db(moderation.bans_list)(room=self.room, actor=self._actor())

    async def on_bans(self):
        return await db(moderation.bans_list)(room=self.room, actor=self._actor())

    async def on_room(self, **changes):
        await db(moderation.room_settings)(room=self.room, actor=self._actor(), **changes)

    async def on_report(self, message_id, reason):
        await db(moderation.report)(room=self.room, identity=self.identity, address=guards.client_address(self.scope),
                                    message_id=message_id, reason=reason)
        return {"type": "reported", "id": message_id}

    async def on_reports(self):
        return await db(moderation.reports_list)(room=self.room, actor=self._actor())

    async def on_dismiss(self, report_id):
        await db(moderation.report_dismiss)(room=self.room, actor=self._actor(), report_id=report_id)
        return await db(moderation.reports_list)(room=self.room, actor=self._actor())

    async def on_ignore(self, member_id, on):
        ignored = await db(moderation.ignore)(room=self.room, identity=self.identity, member_id=member_id, on=on)
        frame = protocol.ignored(ignored)
        # This tab hears it here; the identity's other tabs in the room, on any worker, through the doorway.
        await doorway.publish_to_member(self.room.code, self.identity.public_id, frame, skip=self)
        return frame
