"""ASGI entry point: Django for HTTP, the room consumer for WebSockets (the site's own origins only)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware  # noqa: E402

from rooms.live.guards import WebSocketGuard  # noqa: E402
from rooms.live.origins import SameOriginValidator  # noqa: E402
from rooms.live.routing import websocket_urlpatterns  # noqa: E402


class SessionScopeMiddleware(SessionMiddleware):
    """The session in the scope, as channels' SessionMiddleware puts it, with `send` left alone.

    channels' wrapper reads `session.modified` and `session.is_empty()` on every frame the
    consumer sends, to save the session on an HTTP response start, which a socket never sends;
    the consumer saves the session itself when it changes it.
    """

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        scope = wrapper.scope
        del wrapper  # not kept for the socket's lifetime: only its scope is needed
        return await self.inner(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Outermost, so its limits act before the origin check, the session or any query.
        "websocket": WebSocketGuard(
            SameOriginValidator(CookieMiddleware(SessionScopeMiddleware(URLRouter(websocket_urlpatterns))))
        ),
    }
)
