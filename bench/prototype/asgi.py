"""chatsite.asgi with the session middleware that leaves `send` alone (the proposed asgi.py change)."""
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
