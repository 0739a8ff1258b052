"""A bot opens its room's socket with its token instead of an identity cookie: the header
`Authorization: Bearer <token>`, or `?token=<token>` for clients that cannot set headers.

ASGI middleware in front of the Origin check (chatsite/asgi.py). A socket carrying a token:
- valid and for this room: the socket's identity is the bot's (scope[SCOPE_KEY], read by
  rooms/identities.py), and the Origin check lets it omit Origin (a program is no browser, and
  a token is no ambient credential a page could borrow); a foreign Origin is still refused;
- unknown or revoked: accepted, then an `error` frame `unauthorized` and close 4401;
- another room's: an `error` frame `forbidden` and close 4403.
A socket without a token goes on as before (cookies, Origin required).
"""
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.db import close_old_connections

from rooms import protocol
from rooms.bots import accounts
from rooms.codes import normalize_code

SCOPE_KEY = "chat_bot_identity"
UNAUTHORIZED = "unauthorized"
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


def token_of(scope):
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def _room_code(scope):
    # /ws/rooms/<code>/ (URLRouter has not run yet)
    parts = scope.get("path", "").strip("/").split("/")
    return normalize_code(parts[2]) if len(parts) >= 3 and parts[:2] == ["ws", "rooms"] else None


@database_sync_to_async
def _bot_for_token(token):
    try:
        return accounts.bot_for_token(token)
    finally:
        # Inside the caller's context, where asgiref 3.13 keeps the connection this opened
        # (channels' own close_old_connections runs outside it): a refused socket's task ends
        # here, and its connection must not outlive it past CONN_MAX_AGE.
        close_old_connections()


class BotTokenMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        token = token_of(scope) if scope["type"] == "websocket" else None
        if token is None:
            return await self.app(scope, receive, send)
        bot = await _bot_for_token(token)
        if bot is None:
            return await _refuse(receive, send, UNAUTHORIZED, "The bot token is unknown or revoked.", CLOSE_UNAUTHORIZED)
        if bot.room.code != _room_code(scope):
            return await _refuse(receive, send, protocol.FORBIDDEN, "This bot's token works only in its own room.",
                                 CLOSE_FORBIDDEN)
        return await self.app({**scope, SCOPE_KEY: bot.identity}, receive, send)


async def _refuse(receive, send, code, detail, close_code):
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": protocol.dumps(protocol.error(code, detail))})
    await send({"type": "websocket.close", "code": close_code})
