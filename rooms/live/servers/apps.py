"""The server adapters as a Django app, for one thing: `manage.py runserver` on ChatServer."""
from django.apps import AppConfig


class ServersConfig(AppConfig):
    name = "rooms.live.servers"
    label = "chatsite_servers"
    verbose_name = "chatsite servers"
