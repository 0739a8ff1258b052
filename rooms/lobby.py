"""The lobby: an ordinary room under a reserved code (setting CHAT_LOBBY_CODE, 'off' disables it)."""
from django.conf import settings

from rooms.models import Room


def code():
    value = (settings.CHAT_LOBBY_CODE or "").strip().upper()
    return None if value in {"", "OFF"} else value


def enabled():
    return code() is not None


def is_lobby_code(candidate):
    return candidate.upper() == (settings.CHAT_LOBBY_CODE or "").strip().upper()


def room():
    """The lobby's room, created on first use."""
    return Room.objects.get_or_create(code=code())[0]
