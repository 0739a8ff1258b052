"""Who a browser is, without a row for nobody: a new identity lives in a signed cookie and gets a
database row only at its first act (a message, a rename, a report).

Page loads and sockets that only listen write no identity row and no session row: a loop of
`curl` cannot fill the database. The cookie (CHAT_IDENTITY_COOKIE, a year, HttpOnly, SameSite
Lax) holds the identity's public id, name and avatar seed, signed with SECRET_KEY so nobody can
claim another identity's id. Once the identity has a row, the row is the truth (a rename there
wins over the name in the cookie). Browsers of the time before this keep their identity: a
session that names one is still read, and the page moves it into the cookie.
"""
import secrets

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.utils.module_loading import import_string

from rooms import avatars, names
from rooms.models import Identity

SALT = "chatsite.identity"
SESSION_KEY = "identity"  # where sessions of the time before the cookie kept the public id


def new_pending():
    """A random identity that has no row yet."""
    return Identity(public_id=secrets.token_urlsafe(12), name=names.random_name(), avatar_seed=avatars.new_seed())


def cookie_value(identity):
    return signing.dumps({"id": identity.public_id, "name": identity.name, "avatar": identity.avatar_seed},
                         salt=SALT, compress=True)


def parse_cookie(value):
    """The identity a cookie carries, as an unsaved Identity (no query); None if the cookie is
    missing, forged or malformed."""
    if not value:
        return None
    try:
        data = signing.loads(value, salt=SALT)
        public_id, name, seed = data["id"], data["name"], data["avatar"]
    except (signing.BadSignature, ValueError, TypeError, KeyError):
        return None
    if not all(isinstance(x, str) and x for x in (public_id, name, seed)):
        return None
    return Identity(public_id=public_id, name=name, avatar_seed=seed)


def from_cookie(value):
    """The identity a cookie names: its row if it has one, else an unsaved Identity; None if the
    cookie is missing, forged or malformed."""
    carried = parse_cookie(value)
    if carried is None:
        return None
    return Identity.objects.filter(public_id=carried.public_id).first() or carried


def for_sockets(scopes):
    """The identities of many sockets at once (their cookies; one query for all): each is its
    row, the unsaved one its cookie carries, an older session's, or a random one for the
    socket's lifetime."""
    # A bot's socket carries its identity, found by its token (rooms/bots/sockets.py).
    carried = [scope.get("chat_bot_identity") or parse_cookie(scope.get("cookies", {}).get(settings.CHAT_IDENTITY_COOKIE))
               for scope in scopes]
    ids = {identity.public_id for identity in carried if identity is not None}
    rows = {row.public_id: row for row in Identity.objects.filter(public_id__in=ids)} if ids else {}
    found = []
    for scope, identity in zip(scopes, carried, strict=True):
        if identity is not None:
            found.append(rows.get(identity.public_id, identity))
        else:
            found.append(for_scope(scope))
    return found


def from_session(session):
    """The identity a session of the time before the cookie names, if it still exists."""
    public_id = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(public_id, str) or not public_id:
        return None
    return Identity.objects.filter(public_id=public_id).first()


def for_request(request):
    """(identity, whether the response must set the cookie) for a page request: the cookie's,
    else an older session's (moved into the cookie), else a new pending one. Writes nothing."""
    identity, in_cookie = _existing(request)
    return identity or new_pending(), not in_cookie


def known(request):
    """The identity a page request's browser already has (its cookie, or an older session); None
    for a first visit. Creates nothing."""
    return _existing(request)[0]


def _existing(request):
    identity = from_cookie(request.COOKIES.get(settings.CHAT_IDENTITY_COOKIE))
    if identity is not None:
        return identity, True
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return from_session(request.session), False
    return None, False


def for_scope(scope):
    """The identity of a socket (its cookies), or a pending random one for the socket's lifetime."""
    cookies = scope.get("cookies", {})
    identity = from_cookie(cookies.get(settings.CHAT_IDENTITY_COOKIE))
    if identity is None and cookies.get(settings.SESSION_COOKIE_NAME):
        session = _session_store(cookies[settings.SESSION_COOKIE_NAME])
        identity = from_session(session)
    return identity or new_pending()


def _session_store(key) -> SessionBase:
    engine = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    return engine(key)


def of_request(request):
    """The identity of a page request, looked up once per request."""
    if not hasattr(request, "_chat_identity"):
        request._chat_identity, request._chat_identity_needs_cookie = for_request(request)
    return request._chat_identity


def remember(request, identity):
    """The request's identity is now `identity` (a new one, or renamed): the response sets the cookie."""
    request._chat_identity, request._chat_identity_needs_cookie = identity, True


class IdentityCookieMiddleware:
    """Sets the identity cookie on the response when the request's identity needs it (a browser
    that had none, or a change). A request that never asked for its identity sets nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "_chat_identity_needs_cookie", False):
            response.set_cookie(
                settings.CHAT_IDENTITY_COOKIE, cookie_value(request._chat_identity),
                max_age=settings.CHAT_IDENTITY_COOKIE_AGE, httponly=True, samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
