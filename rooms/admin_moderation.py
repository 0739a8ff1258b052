"""Site staff moderate every room from the admin, as its owner would (issue 15): roles, mutes,
kicks and bans of members, the room's topic, slow mode and lock, bans, reports with one-click
delete, mute and ban, and the moderation log. Every act goes through rooms/moderation.py, so
open pages hear it live and it is logged under the staff user's name."""
from django.contrib import admin, messages
from django.utils.text import Truncator

from rooms import moderation
from rooms.admin import RoomAdmin
from rooms.errors import ChatError
from rooms.models import Ban, Membership, ModerationLog, Report, Room

DAY = 24 * 3600


def _staff(request):
    return moderation.Actor(staff=request.user.get_username())


def _each(modeladmin, request, rows, act, done):
    """Run `act(row)` for each row; say how many worked and why any did not."""
    count = 0
    for row in rows:
        try:
            act(row)
            count += 1
        except ChatError as exc:
            modeladmin.message_user(request, f"{row}: {exc.detail}", messages.WARNING)
    if count:
        modeladmin.message_user(request, f"{done}: {count}.", messages.SUCCESS)


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["identity", "role", "muted_until", "last_read"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "owner and moderators (change roles under Memberships)"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(role__in=moderation.STAFF_ROLES).select_related("identity")

    def has_add_permission(self, request, obj=None):
        return False


admin.site.unregister(Room)


@admin.register(Room)
class ModeratedRoomAdmin(RoomAdmin):
    """The room list as before; a room's page also sets its topic, slow mode and lock."""

    fields = ["code", "seq", "created_at", "topic", "slowmode", "locked"]
    readonly_fields = ["code", "seq", "created_at"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        changed = {field: form.cleaned_data[field] for field in ("topic", "slowmode", "locked") if field in form.changed_data}
        if changed:
            moderation.room_settings(room=obj, actor=_staff(request), **changed)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["identity", "room", "role", "muted_until"]
    list_filter = ["role"]
    search_fields = ["identity__name", "room__code"]
    list_select_related = ["identity", "room"]
    fields = ["room", "identity", "role", "muted_until", "last_read"]
    readonly_fields = fields
    actions = ["make_moderator", "make_member", "mute_10_minutes", "unmute", "kick", "ban_for_a_day", "ban_for_good"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _act(self, request, rows, done, act):
        _each(self, request, rows, lambda row: act(row.room, row.identity.public_id), done)

    @admin.action(description="Make moderator")
    def make_moderator(self, request, rows):
        self._act(request, rows, "Made moderator", lambda room, member: moderation.role_set(
            room=room, actor=_staff(request), member_id=member, role="moderator"))

    @admin.action(description="Make member (remove moderator)")
    def make_member(self, request, rows):
        self._act(request, rows, "Made member", lambda room, member: moderation.role_set(
            room=room, actor=_staff(request), member_id=member, role="member"))

    @admin.action(description="Mute for 10 minutes")
    def mute_10_minutes(self, request, rows):
        self._act(request, rows, "Muted", lambda room, member: moderation.mute(
            room=room, actor=_staff(request), member_id=member, seconds=600))

    @admin.action(description="Unmute")
    def unmute(self, request, rows):
        self._act(request, rows, "Unmuted", lambda room, member: moderation.mute(
            room=room, actor=_staff(request), member_id=member, seconds=0))

    @admin.action(description="Kick from the room")
    def kick(self, request, rows):
        self._act(request, rows, "Kicked", lambda room, member: moderation.kick(
            room=room, actor=_staff(request), member_id=member, reason="by the site's staff"))

    @admin.action(description="Ban from the room for a day")
    def ban_for_a_day(self, request, rows):
        self._act(request, rows, "Banned", lambda room, member: moderation.ban(
            room=room, actor=_staff(request), member_id=member, seconds=DAY, reason="by the site's staff"))

    @admin.action(description="Ban from the room for good")
    def ban_for_good(self, request, rows):
        self._act(request, rows, "Banned", lambda room, member: moderation.ban(
            room=room, actor=_staff(request), member_id=member, seconds=None, reason="by the site's staff"))


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    """Bans show the name the person had; identity and address are keyed hashes only."""

    list_display = ["name", "room", "reason", "created_at", "expires_at"]
    search_fields = ["name", "room__code"]
    list_select_related = ["room"]
    readonly_fields = ["room", "name", "reason", "created_at", "expires_at", "identity_key", "address_key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        moderation.unban(room=obj.room, actor=_staff(request), ban_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for row in queryset.select_related("room"):
            self.delete_model(request, row)


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "open"), ("no", "resolved")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["excerpt", "author", "room", "reason", "reporter", "created_at", "resolved_at"]
    list_filter = [OpenFilter, "created_at"]
    list_select_related = ["room", "reporter", "message__author"]
    readonly_fields = ["room", "message", "reporter", "reason", "created_at", "resolved_at"]
    exclude = ["address_key"]
    actions = ["delete_messages", "mute_authors", "ban_authors", "dismiss"]

    @admin.display(description="message")
    def excerpt(self, report):
        return Truncator(report.message.body).chars(80) or "(deleted)"

    @admin.display(description="author")
    def author(self, report):
        return report.message.author.name

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Delete the reported messages")
    def delete_messages(self, request, rows):
        _each(self, request, rows, lambda row: moderation.message_delete(
            room=row.room, actor=_staff(request), message_id=row.message_id), "Deleted")

    @admin.action(description="Mute their authors for 10 minutes")
    def mute_authors(self, request, rows):
        _each(self, request, rows, lambda row: moderation.mute(
            room=row.room, actor=_staff(request), member_id=row.message.author.public_id, seconds=600), "Muted")

    @admin.action(description="Ban their authors from the room for a day")
    def ban_authors(self, request, rows):
        _each(self, request, rows, lambda row: moderation.ban(
            room=row.room, actor=_staff(request), member_id=row.message.author.public_id, seconds=DAY,
            reason=row.reason or "reported"), "Banned")

    @admin.action(description="Dismiss")
    def dismiss(self, request, rows):
        _each(self, request, rows.filter(resolved_at__isnull=True), lambda row: moderation.report_dismiss(
            room=row.room, actor=_staff(request), report_id=row.pk), "Dismissed")


@admin.register(ModerationLog)
class ModerationLogAdmin(admin.ModelAdmin):
    """Who did what to whom, when and why; kept as the room's record, read-only."""

    list_display = ["created_at", "room", "who", "action", "target_name", "reason", "detail"]
    list_filter = ["action", "created_at"]
    search_fields = ["room__code", "target_name", "staff", "actor__name"]
    list_select_related = ["room", "actor"]
    exclude = ["frame"]

    @admin.display(description="who")
    def who(self, row):
        return f"{row.staff} (staff)" if row.staff else (row.actor.name if row.actor else "")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
