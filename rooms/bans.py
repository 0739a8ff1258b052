"""Keyed hashes for what moderation must recognise but never keep in plain: an identity's public
id and an address (already cut to the /64 for IPv6 by rooms/live/guards.address_key).

HMAC-SHA256 under SECRET_KEY: the stored value tells nobody the address, and without the key a
list of all IPv4 addresses cannot be hashed to find it. Rotating SECRET_KEY forgets every ban's
address part (the identity part too): documented in docs/moderation.md.
"""
import hashlib
import hmac

from django.conf import settings


def _key(kind, value):
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, f"chatsite.moderation.{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def identity_key(public_id):
    return _key("identity", public_id)


def address_key(address):
    """The keyed hash of an address key (guards.address_key), "" for no address."""
    return _key("address", address) if address else ""
