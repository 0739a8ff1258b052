"""chatsite.asgi with the session middleware that leaves `send` alone (the proposed asgi.py change)."""
import os

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware

from chatsite.asgi import django_asgi_app
from rooms.guards import WebSocketGuard
from rooms.routing import websocket_urlpatterns


class SessionScopeMiddleware(SessionMiddleware):
    """Puts the session in the scope like channels' SessionMiddleware, without wrapping `send`.

    channels' wrapper reads `session.modified` and `session.is_empty()` on every message the
    consumer sends, to save the session on an HTTP response start, which a WebSocket never
    sends; the consumer saves the session itself when it changes it.
    """

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebSocketGuard(
            AllowedHostsOriginValidator(CookieMiddleware(SessionScopeMiddleware(URLRouter(websocket_urlpatterns))))
        ),
    }
)


if os.environ.get("BENCH_TICK_VIA_LAYER") == "1":
    # The proposed rooms/ticker.py change (system chatsite-proto-tick): ticks through the socket's
    # own channel, behind the broadcasts already queued for it.
    from channels.db import database_sync_to_async as db
    from channels.exceptions import ChannelFull
    from channels.layers import get_channel_layer

    from rooms import broadcast, protocol, services, ticker

    async def _tick_via_layer():
        seqs = await db(services.room_seqs)(room_ids=set(ticker._sockets.values()))
        texts = {room_id: protocol.dumps(protocol.tick(seq)) for room_id, seq in seqs.items()}
        layer = get_channel_layer()
        for consumer, room_id in list(ticker._sockets.items()):
            if room_id in texts:
                try:
                    await layer.send(consumer.channel_name, {"type": broadcast.EVENT_TYPE, "texts": [texts[room_id]]})
                except ChannelFull:
                    pass

    ticker._tick = _tick_via_layer
