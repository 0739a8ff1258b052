"""HTTP routes of the chat."""
from django.urls import path

from rooms import bot_views, findviews, identity_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/<str:code>/", views.room, name="room"),
    path("rooms/<str:code>/m/<int:message_id>/", views.permalink, name="permalink"),
    path("rooms/<str:code>/search/", findviews.room_search, name="room_search"),
    path("rooms/<str:code>/export/", findviews.room_export, name="room_export"),
    path("rooms/<str:code>/bots/", bot_views.room_bots, name="room_bots"),
    path("avatars/<str:public_id>.svg", views.avatar, name="avatar"),
    path("me/", identity_views.me, name="identity"),
    path("me/key/", identity_views.key_make, name="identity_key"),
    path("me/restore/<str:secret>/", identity_views.restore, name="identity_restore"),
]
