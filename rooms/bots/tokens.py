"""Bot tokens: random, shown once, stored as their SHA-256, compared in constant time."""
import hashlib
import hmac
import secrets

PREFIX = "cb_"  # recognisable in logs and secret scanners


def new_token():
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def matches(token, stored_hash):
    return hmac.compare_digest(token_hash(token), stored_hash)


def new_webhook_secret():
    return secrets.token_hex(32)
