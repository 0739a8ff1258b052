"""Top-level HTTP routes: the chat, the admin and the bots' API."""
from django.contrib import admin
from django.urls import include, path

from rooms.bots.api import api as bots_api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", bots_api.urls),
    path("", include("rooms.urls")),
]
