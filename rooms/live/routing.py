"""WebSocket routes of the chat."""
from django.urls import path

from rooms.live.consumer import RoomConsumer

websocket_urlpatterns = [
    path("ws/rooms/<str:code>/", RoomConsumer.as_asgi()),
]
