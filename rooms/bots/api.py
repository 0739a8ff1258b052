"""The bots' HTTP API under /api/ (Django Ninja: async views, pydantic schemas, the OpenAPI
document built from this code, at /api/openapi.json and /api/docs).

Every request carries `Authorization: Bearer <token>`; a token works only in its bot's room
(403 elsewhere), an unknown or revoked one is 401. Errors are JSON `{"code", "detail"}` with the
codes of docs/protocol.md. Bounds: CHAT_API_ADDRESS_LIMIT requests per address (counted before
the token is even looked up, so guessing tokens is bounded too) and CHAT_BOT_RATE_LIMIT per
token (the socket's frame limit); past either, 429 `rate_limited` with Retry-After. Token
requests carry no cookie, so CSRF does not apply (Ninja's default for non-cookie auth).
"""
import logging
import math
from typing import Any

from channels.db import database_sync_to_async as db
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from ninja import Header, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import Field

from rooms import protocol, selectors
from rooms.bots import accounts
from rooms.bots.sockets import UNAUTHORIZED
from rooms.codes import normalize_code
from rooms.errors import ChatError
from rooms.live import replies, writer
from rooms.live.guards import KeyedWindow, request_address
from rooms.live.ratelimit import parse_rate

log = logging.getLogger("rooms.bots")

NOT_IMPLEMENTED = "not_implemented"

STATUS = {
    protocol.BAD_JSON: 400, protocol.BAD_FRAME: 400, protocol.INVALID_FIELD: 400, protocol.EMPTY_MESSAGE: 400,
    protocol.MESSAGE_TOO_LONG: 400, UNAUTHORIZED: 401, protocol.FORBIDDEN: 403, protocol.NOT_FOUND: 404,
    protocol.RATE_LIMITED: 429, NOT_IMPLEMENTED: 501, protocol.UNAVAILABLE: 503,
}


class ApiError(ChatError):
    def __init__(self, code, detail, retry_after=None):
        super().__init__(code, detail)
        self.retry_after = retry_after


class _Limits:
    """The per-address and per-token windows of this worker (made from the settings on first use)."""

    def __init__(self):
        self.key = None

    def windows(self):
        key = (settings.CHAT_API_ADDRESS_LIMIT, settings.CHAT_BOT_RATE_LIMIT)
        if key != self.key:
            self.key = key
            self.address = KeyedWindow(parse_rate(key[0]))
            self.token = KeyedWindow(parse_rate(key[1]))
        return self.address, self.token


limits = _Limits()


def _take(window, key, what):
    if not window.take(key):
        wait = window.retry_after(key)
        raise ApiError(protocol.RATE_LIMITED, f"Too many requests {what}; wait {wait:.1f} s.", retry_after=wait)


class BotToken(HttpBearer):
    """Authorization: Bearer <token> -> the bot; counts the address and the token."""

    is_async = True

    async def __call__(self, request):
        by_address, by_token = limits.windows()
        _take(by_address, request_address(request), "from your address")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(UNAUTHORIZED, "Send the bot's token: 'Authorization: Bearer <token>'.")
        bot = await db(accounts.bot_for_token)(token.strip())
        if bot is None:
            raise ApiError(UNAUTHORIZED, "The bot token is unknown or revoked.")
        _take(by_token, bot.pk, "with this token")
        return bot

    def authenticate(self, request, token):  # pragma: no cover (__call__ above does the work)
        raise NotImplementedError


api = NinjaAPI(
    title="chatsite bot API", version="1", urls_namespace="bots-api", auth=BotToken(),
    docs_url="/docs", openapi_url="/openapi.json",
    description="Bots post and read in their room. See docs/bots.md; errors and limits as in docs/protocol.md.",
)


def error_response(code, detail, retry_after=None):
    response = JsonResponse({"code": code, "detail": detail}, status=STATUS.get(code, 400))
    if retry_after is None and code in (protocol.RATE_LIMITED, protocol.UNAVAILABLE):
        retry_after = 1  # the write queue was full or the database away: soon
    if retry_after is not None:
        response["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


@api.exception_handler(ChatError)
def _chat_error(request, exc):
    return error_response(exc.code, exc.detail, getattr(exc, "retry_after", None))


@api.exception_handler(DatabaseError)
def _database_error(request, exc):
    log.warning("database unavailable for an API request", exc_info=True)
    return error_response(protocol.UNAVAILABLE, "The server cannot reach its database just now; try again.")


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return error_response(UNAUTHORIZED, "Send the bot's token: 'Authorization: Bearer <token>'.")


@api.exception_handler(HttpError)
def _http_error(request, exc):
    if exc.status_code == 400:  # Ninja's answer to a body that is not JSON
        return error_response(protocol.BAD_JSON, "The request body must be JSON.")
    return error_response(protocol.BAD_FRAME if exc.status_code < 500 else protocol.UNAVAILABLE, str(exc))


@api.exception_handler(ValidationError)
def _validation_error(request, exc):
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "payload", "query"))
    if first.get("type") == "json_invalid":
        return error_response(protocol.BAD_JSON, "The request body must be JSON.")
    return error_response(protocol.INVALID_FIELD, f"'{where}': {first.get('msg', 'invalid')}.")


# ---- schemas (the OpenAPI document is built from these) ----

class Error(Schema):
    code: str = Field(description="A stable error code of docs/protocol.md, or unauthorized / not_implemented.")
    detail: str


class Member(Schema):
    id: str
    name: str
    avatar: str
    bot: bool | None = Field(None, description="true for bots; absent for people")


class MessageIn(Schema):
    body: Any = Field(description="The text, as typed (checked like the socket's `message` frame).")
    reply_to: Any = Field(None, description="The id of a message of this room it answers.")


class Message(Schema):
    type: str
    id: int
    seq: int
    client_id: str | None
    author: Member
    body: str
    sent_at: str
    edited_at: str | None
    reply_to: dict | None
    reactions: list[dict]
    mentions: list[str]


class Changes(Schema):
    type: str = "sync"
    seq: int = Field(description="The seq these changes bring the bot to: ask again with after=seq.")
    messages: list[dict] = Field(description="message, edit, reactions and delete frames, in seq order")
    has_more: bool


class RoomOut(Schema):
    code: str
    seq: int
    topic: str | None = Field(None, description="null until rooms have topics")
    members: list[Member] = Field(description="the members with an open socket in the room")


ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 429: Error, 503: Error}


def _room_of(bot, code):
    if normalize_code(code) != bot.room.code:
        raise ApiError(protocol.FORBIDDEN, "This bot's token works only in its own room.")
    return bot.room


def _idempotency_key(value):
    if value is None:
        return None
    if not 0 < len(value) <= protocol.CLIENT_ID_MAX_LENGTH:
        raise ApiError(protocol.INVALID_FIELD, f"'Idempotency-Key' must be 1 to {protocol.CLIENT_ID_MAX_LENGTH} characters.")
    return value


@api.post("/rooms/{code}/messages", response={201: Message, 200: Message, **ERRORS},
          summary="Post a message as the bot")
async def post_message(request, code: str, payload: MessageIn,
                       idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """201 with the new message. With an `Idempotency-Key` (the message's client_id), a retry
    gets the message stored the first time, with 200, and nothing is posted twice."""
    bot = request.auth
    room = _room_of(bot, code)
    frame = {"type": "message", "body": payload.body, "reply_to": payload.reply_to,
             "client_id": _idempotency_key(idempotency_key)}
    _, args = protocol.parse_client_frame(protocol.dumps(frame))
    message, created = await writer.message_send(room=room, author=bot.identity, body=args["body"],
                                                 client_id=args["client_id"], reply_to=args["reply_to"])
    return JsonResponse(message, status=201 if created else 200, json_dumps_params={"ensure_ascii": False})


class After(Schema):
    after: int = Field(0, ge=0, description="the last seq the bot has seen (0: from the start)")
    limit: int | None = Field(None, ge=1, description="at most this many changes (up to CHAT_SYNC_MAX)")


@api.get("/rooms/{code}/messages", response={200: Changes, **ERRORS}, summary="Read the room's changes after a seq")
async def get_messages(request, code: str, params: Query[After]):
    """The same changes as the socket's `sync`: every change with seq > after, in seq order."""
    room = _room_of(request.auth, code)
    limit = min(params.limit or settings.CHAT_SYNC_MAX, settings.CHAT_SYNC_MAX)
    seq, changes, has_more = await db(selectors.changes_after)(room, params.after, limit)
    text = protocol.dumps(protocol.sync(seq, changes, has_more))
    # Counted against the address's answer bytes like a socket's sync (CHAT_REPLY_BUDGET).
    await replies.budget().spend(request_address(request), len(text.encode()))
    return HttpResponse(text, content_type="application/json")


@api.get("/rooms/{code}", response={200: RoomOut, **ERRORS}, summary="The room: seq, topic, members present")
async def get_room(request, code: str):
    room = _room_of(request.auth, code)

    def read():
        return selectors.room_seq(room), [protocol.member(m) for m in selectors.members_present(room)]

    seq, members = await db(read)()
    return JsonResponse({"code": room.code, "seq": seq, "topic": None, "members": members},
                        json_dumps_params={"ensure_ascii": False})


@api.get("/rooms/{code}/search", response={200: dict, **ERRORS}, summary="Search the room")
async def search(request, code: str, q: str, before: int | None = None, limit: int | None = None):
    """The room's messages matching `q` (docs/protocol.md, HTTP endpoints: the search syntax),
    newest first: `{"query", "hits", "next_before"}` as the room's search page gives it in JSON;
    `before=<next_before>` for the next page."""
    from rooms import findviews
    from rooms import search as room_search

    room = _room_of(request.auth, code)
    try:
        hits, next_before = await db(room_search.search_room)(room, q.strip(), before=before, limit=limit)
    except room_search.SearchQueryError as exc:
        raise ApiError(protocol.INVALID_FIELD, str(exc)) from None
    result = {"query": q.strip(), "hits": [findviews.hit_json(hit, room.code) for hit in hits], "next_before": next_before}
    return JsonResponse(result, json_dumps_params={"ensure_ascii": False})
