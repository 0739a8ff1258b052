"""Pages of an identity you can carry (rooms/carry.py): /me/ shows who this browser is and makes
a key link; /me/restore/<secret>/ asks, then makes this browser that identity."""
import math

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rooms import carry, identities
from rooms.live.guards import request_address


def _private(response):
    """A page with a secret on it (or in its address): never cached. The site's Referrer-Policy
    (same-origin) already keeps the address from other sites; `no-referrer` here would make
    Chromium send `Origin: null` with the confirmation, which the CSRF check refuses."""
    response["Cache-Control"] = "no-store"
    return response


def _limited(request):
    """Count a key-link action of the request's address (CHAT_RESTORE_LIMIT); past the limit, the
    429 page to answer with, else None."""
    address = request_address(request)
    window = carry.restore_window()
    if address is None or window.take(address):
        return None
    wait = window.retry_after(address)
    response = render(request, "rooms/restore.html", {"limited": True, "wait": math.ceil(wait)}, status=429)
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return _private(response)


@require_GET
def me(request):
    identity = identities.of_request(request)
    return render(request, "rooms/me.html", {
        "identity": identity, "has_key": carry.has_key(identity), "restored": request.GET.get("restored") == "1",
    })


@never_cache
@require_POST
def key_make(request):
    """Make a new key link (replacing the old one) and show it once, with its QR code. It writes
    rows (an identity's first act), so it counts against the same per-address limit."""
    refusal = _limited(request)
    if refusal is not None:
        return refusal
    identity = identities.of_request(request)
    secret = carry.key_make(identity=identity)
    identities.remember(request, identity)  # it has a row now; the cookie names the same identity
    link = request.build_absolute_uri(reverse("identity_restore", kwargs={"secret": secret}))
    return _private(render(request, "rooms/me.html", {
        "identity": identity, "has_key": True, "link": link, "qr": carry.qr_svg(link),
    }))


@never_cache
@require_http_methods(["GET", "POST"])
def restore(request, secret):
    refusal = _limited(request)
    if refusal is not None:
        return refusal
    identity = carry.key_identity(secret)
    if identity is None:
        detail = ("This key link is unknown: it may have been mistyped, replaced by a newer key, or have expired. "
                  "Make a new one on the “Your identity” page of the browser you use.")
        response = render(request, "404.html", {"exception": detail}, status=404)
        response.room_code_missed = False  # not a room code (rooms/live/guards.py)
        return _private(response)
    current = identities.known(request)
    if request.method == "POST":
        identities.remember(request, identity)
        return redirect(reverse("identity") + "?restored=1")
    return _private(render(request, "rooms/restore.html", {
        "identity": identity, "current": current, "same": current is not None and current.public_id == identity.public_id,
    }))
