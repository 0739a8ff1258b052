"""ASGI entry point: Django for HTTP, the room consumer for WebSockets (the site's own origins only)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402

from rooms.bots.delivery import WithDeliveries  # noqa: E402
from rooms.bots.sockets import BotTokenMiddleware  # noqa: E402
from rooms.live.guards import WebSocketGuard  # noqa: E402
from rooms.live.origins import SameOriginValidator  # noqa: E402
from rooms.live.routing import websocket_urlpatterns  # noqa: E402

application = WithDeliveries(ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Outermost, so its limits act before the origin check, the cookies or any query. The
        # consumer reads its identity from the cookies (rooms/identities.py): no session per socket,
        # or, for a bot, from its token (rooms/bots/sockets.py).
        "websocket": WebSocketGuard(BotTokenMiddleware(SameOriginValidator(CookieMiddleware(URLRouter(websocket_urlpatterns))))),
    }
))  # each worker's webhook delivery loop starts with its first request (rooms/bots/delivery.py)
