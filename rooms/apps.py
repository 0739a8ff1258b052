"""App configuration for rooms: the chat's models, services and socket consumer."""
from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.utils import timezone


def _staff_login_expires(sender, request, user, **kwargs):
    # An absolute expiry, counted from the login: a session saved again later (an admin action)
    # would otherwise live SESSION_COOKIE_AGE past that save. Logout ends it at once (Django).
    request.session.set_expiry(timezone.now() + timedelta(seconds=settings.STAFF_SESSION_SECONDS))


class RoomsConfig(AppConfig):
    name = "rooms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Django's login has no other hook for this; it is not a side effect of a chat action.
        user_logged_in.connect(_staff_login_expires, dispatch_uid="rooms.staff_login_expires")
