"""An identity you can carry: a private key link (/me/restore/<secret>/) that makes another
browser the same identity, with its name, avatar, rooms and roles (all hang on the identity).

The secret is 32 random bytes (256 bits, URL-safe base64); only its SHA-256 is stored, so a copy
of the database restores nobody. An identity has at most one key: making a new one replaces the
old, whose link stops working. A key works CHAT_IDENTITY_KEY_DAYS (0: until it is replaced).
Making, opening and confirming a link are counted per address (CHAT_RESTORE_LIMIT, shared by every
worker with REDIS_URL): guessing 256 bits is hopeless, the limit keeps the lookups cheap.
"""
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rooms import services
from rooms.live import guards as guards_module
from rooms.live import shared as shared_limits
from rooms.live.ratelimit import parse_rate
from rooms.models import IdentityKey

SECRET_BYTES = 32
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")


def _hash(secret):
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def key_make(*, identity):
    """A new key for `identity` (giving it its row first: making a key is an act), replacing its
    old one. Returns the secret, which is never stored and cannot be shown again."""
    services.identity_store(identity=identity)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    with transaction.atomic():
        IdentityKey.objects.update_or_create(
            identity_id=identity.pk, defaults={"secret_hash": _hash(secret), "created_at": timezone.now()},
        )
    return secret


def key_identity(secret):
    """The identity a key's secret restores, or None for a malformed, unknown, replaced or expired one."""
    if not isinstance(secret, str) or not _SECRET_SHAPE.fullmatch(secret):
        return None
    digest = _hash(secret)
    key = IdentityKey.objects.select_related("identity").filter(secret_hash=digest).first()
    # The lookup is by an index on the hash; comparing in constant time as well costs nothing.
    if key is None or not hmac.compare_digest(key.secret_hash, digest):
        return None
    days = settings.CHAT_IDENTITY_KEY_DAYS
    if days > 0 and key.created_at < timezone.now() - timedelta(days=days):
        return None
    return key.identity


def has_key(identity):
    return identity.pk is not None and IdentityKey.objects.filter(identity_id=identity.pk).exists()


def qr_svg(text):
    """The QR code of `text` as inline SVG (no style attributes: the page's CSP allows it)."""
    return segno.make(text, error="m").svg_inline(scale=4, border=4, dark="#000", light="#fff")


def restore_window():
    """The per-address count of key-link lookups; it lives beside the other guards, so tests
    that reset those reset it too."""
    shared = guards_module.guards()
    rate = parse_rate(settings.CHAT_RESTORE_LIMIT)
    window = getattr(shared, "identity_restores", None)
    if window is None or window.rate != rate:
        if shared.in_redis:
            window = shared_limits.RedisWindow(rate, "identity-restores")
        else:
            window = guards_module.KeyedWindow(rate)
        shared.identity_restores = window
    return window
