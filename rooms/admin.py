"""Moderation in the Django admin: rooms and messages. Deleting goes through message_delete,
so a removed message disappears live from open room pages."""
from django.contrib import admin
from django.db.models import Count, Q
from django.utils.text import Truncator

from rooms import names, services
from rooms.models import Identity, Message, Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["code", "created_at", "message_count"]
    search_fields = ["code"]
    readonly_fields = ["seq", "created_at"]
    ordering = ["-created_at"]

    def get_queryset(self, request):
        visible = Q(messages__deleted_seq__isnull=True)
        return super().get_queryset(request).annotate(_message_count=Count("messages", filter=visible))

    @admin.display(description="messages", ordering="_message_count")
    def message_count(self, room):
        return room._message_count

    def has_delete_permission(self, request, obj=None):
        return False  # history is the point: rooms stay


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["excerpt", "room", "author", "sent_at"]
    list_filter = ["room", "sent_at"]
    search_fields = ["body", "author__name", "room__code"]
    list_select_related = ["room", "author"]
    readonly_fields = ["room", "author", "body", "sent_at", "client_id", "seq", "deleted_seq"]
    date_hierarchy = "sent_at"

    def get_queryset(self, request):
        return super().get_queryset(request).visible()

    @admin.display(description="message")
    def excerpt(self, message):
        return Truncator(message.body).chars(80)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.message_delete(message=obj)

    def delete_queryset(self, request, queryset):
        for message in queryset:
            services.message_delete(message=message)


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ["name", "public_id", "created_at"]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "avatar_seed", "created_at"]
    exclude = ["name_key"]

    def save_model(self, request, obj, form, change):
        # Through the service: the name's mention key follows, and open rooms hear the rename.
        if change and "name" in form.changed_data:
            services.identity_rename(identity=obj, name=obj.name)
        else:
            obj.name_key = names.name_key(obj.name)
            super().save_model(request, obj, form, change)


from rooms import admin_moderation  # noqa: E402, F401  (issue 15: roles, bans, reports, the moderation log)
from rooms.bots import admin as bots_admin  # noqa: E402,F401  (bots and their delivery log)
