"""The room socket's Origin check: a socket opens only from the site's own pages.

A browser sends the visitor's cookies with a WebSocket handshake to any page that asks, and a
different port on the same host is the same *site* to the browser (SameSite cookies go along),
but a different *origin*. So the check compares the whole origin, scheme, host and port, as
Django's CSRF Origin check does for forms: the handshake's own `scheme://host[:port]` (https
when the request is secure, honouring SECURE_PROXY_SSL_HEADER behind a proxy; the host as
`request.get_host()` takes and validates it against ALLOWED_HOSTS) or an entry of CSRF_TRUSTED_ORIGINS
(`https://*.example.com` allows its subdomains, as in Django). Anything else, `null` or no
Origin at all, is refused in the handshake: HTTP 403 on every server. One exception: a bot's
socket that carries a valid token for its room may omit Origin (rooms/bots/sockets.py).
"""
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

log = logging.getLogger("rooms.guards")

_HTTP_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def _header(scope, name):
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def own_origin(scope):
    """`scheme://host[:port]` of the handshake as Django's request.get_host() and is_secure()
    would see it; None if its host is not allowed.

    Built from the headers directly: constructing a Django request for it cost a twentieth of a
    handshake's CPU when thousands of sockets reconnected at once."""
    secure = _HTTP_SCHEMES.get(scope.get("scheme"), "http") == "https"
    if settings.SECURE_PROXY_SSL_HEADER:
        name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        sent = _meta_header(scope, name)
        if sent is not None:
            secure = sent.split(",", 1)[0].strip() == secure_value
    host = (_meta_header(scope, "HTTP_X_FORWARDED_HOST") if settings.USE_X_FORWARDED_HOST else None) \
        or _header(scope, b"host")
    if host is None:
        server = scope.get("server")
        if not server:
            return None
        host = f"{server[0]}:{server[1]}" if (server[1], secure) not in ((80, False), (443, True)) else server[0]
    domain, _ = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # as Django's get_host allows in DEBUG
    if not domain or not validate_host(domain, allowed):
        return None
    return f"{'https' if secure else 'http'}://{host}"


def _meta_header(scope, meta_name):
    """A header named as Django's request.META names it (HTTP_X_FORWARDED_PROTO)."""
    if not meta_name.startswith("HTTP_"):
        return None
    return _header(scope, meta_name[5:].lower().replace("_", "-").encode("latin-1"))


def is_trusted(origin):
    """Whether `origin` is an entry of CSRF_TRUSTED_ORIGINS, or a subdomain its wildcard allows."""
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in trusted:
        return True
    parsed = urlsplit(origin)
    return any(
        urlsplit(entry).scheme == parsed.scheme and is_same_domain(parsed.netloc, urlsplit(entry).netloc.lstrip("*"))
        for entry in trusted
        if "*" in entry
    )


def origin_allowed(scope):
    origin = _header(scope, b"origin")
    if origin is None and scope.get("chat_bot_identity") is not None:
        return True  # a bot's socket with a valid token for its room (rooms/bots/sockets.py)
    if origin is None or origin == "null":
        return False
    return origin == own_origin(scope) or is_trusted(origin)


class SameOriginValidator:
    """ASGI middleware: refuses (HTTP 403) a socket whose Origin is not one of the site's own."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if origin_allowed(scope):
            return await self.app(scope, receive, send)
        log.info("socket refused: origin %r is not this site's (%s)", _header(scope, b"origin"), own_origin(scope))
        message = await receive()
        if message["type"] == "websocket.connect":
            # A close before accept is the handshake's HTTP 403 (ASGI spec), on daphne and uvicorn alike.
            await send({"type": "websocket.close"})
