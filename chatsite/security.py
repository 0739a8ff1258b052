"""HTTP response headers that Django's SecurityMiddleware does not set: a strict CSP and friends.

The policy allows no inline script and no inline style: the pages load their code and styles from
/static/ and pass data with `json_script` (a JSON block, which a browser never executes). Django
admin 5.2 fits too: it ships no inline script (its constants are data attributes on external
scripts) and no inline style attributes. A view that sets its own Content-Security-Policy (the
SVG avatars) keeps it.
"""
from django.conf import settings

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Features a chat page never needs; denying them means an injected frame cannot ask for them either.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy, Permissions-Policy and Cross-Origin-Resource-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.headers = {
            "Content-Security-Policy": getattr(settings, "CONTENT_SECURITY_POLICY", CONTENT_SECURITY_POLICY),
            "Permissions-Policy": PERMISSIONS_POLICY,
            "Cross-Origin-Resource-Policy": "same-origin",
        }

    def __call__(self, request):
        response = self.get_response(request)
        for name, value in self.headers.items():
            response.headers.setdefault(name, value)
        return response
