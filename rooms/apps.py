"""App configuration for rooms: the chat's models, services and socket consumer."""
from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "rooms"
    default_auto_field = "django.db.models.BigAutoField"
