"""Bots in the admin: staff create one (its token is shown once, in the page after saving),
set its webhook, revoke it, and read its delivery log."""
from django import forms
from django.contrib import admin, messages

from rooms.bots import accounts, addresses, outbox
from rooms.bots.models import Bot, BotDelivery
from rooms.errors import ChatError


class BotForm(forms.ModelForm):
    name = forms.CharField(max_length=64, help_text="The bot's display name in the room.")
    webhook_url = forms.URLField(required=False, max_length=500, assume_scheme="https",
                                 help_text="Every new message of the room (or only mentions) is POSTed here, signed.")

    class Meta:
        model = Bot
        fields = ["room", "webhook_url", "webhook_mentions_only"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["name"].initial = self.instance.identity.name
            self.fields["name"].disabled = True
            self.fields["room"].disabled = True

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if url:
            try:
                addresses.check_url(url)
            except ChatError as exc:
                raise forms.ValidationError(exc.detail) from None
        return url


class DeliveryInline(admin.TabularInline):
    model = BotDelivery
    fields = ["seq", "status", "attempts", "last_status_code", "last_error", "next_attempt_at", "delivered_at"]
    readonly_fields = fields
    ordering = ["-id"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-id")


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    form = BotForm
    list_display = ["__str__", "room", "webhook_url", "webhook_mentions_only", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["room", "identity"]
    search_fields = ["identity__name", "room__code"]
    readonly_fields = ["identity", "created_by", "created_at", "revoked_at", "webhook_secret"]
    actions = ["revoke"]
    inlines = [DeliveryInline]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["room", "name", "webhook_url", "webhook_mentions_only"]
        return ["name", "room", "identity", "webhook_url", "webhook_mentions_only", "webhook_secret",
                "created_by", "created_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            outbox.forget_bots()
            return
        bot, token = accounts.create_bot(room=obj.room, name=form.cleaned_data["name"], created_by=request.user,
                                         webhook_url=obj.webhook_url, mentions_only=obj.webhook_mentions_only)
        obj.__dict__.update({k: v for k, v in bot.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False
        self.message_user(request, f"The bot's token, shown only now: {token}", messages.WARNING)

    def has_delete_permission(self, request, obj=None):
        return False  # its messages keep their author: revoke instead

    @admin.action(description="Revoke the selected bots' tokens")
    def revoke(self, request, queryset):
        for bot in queryset:
            accounts.revoke_bot(bot=bot)
        self.message_user(request, f"Revoked {queryset.count()} bot(s).")


@admin.register(BotDelivery)
class BotDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "bot", "seq", "status", "attempts", "last_status_code", "created_at", "delivered_at"]
    list_filter = ["status"]
    list_select_related = ["bot__identity", "bot__room"]
    readonly_fields = [f.name for f in BotDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
