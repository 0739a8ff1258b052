"""HTTP routes of the chat."""
from django.urls import path

from rooms import views

urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/<str:code>/", views.room, name="room"),
    path("rooms/<str:code>/m/<int:message_id>/", views.permalink, name="permalink"),
    path("avatars/<str:public_id>.svg", views.avatar, name="avatar"),
]
