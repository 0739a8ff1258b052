"""Which webhook URLs may be called: http(s) only, and never a private, loopback, link-local or
otherwise internal address (every address the host resolves to is checked, and the request goes
to a checked address) unless CHAT_WEBHOOK_ALLOW_PRIVATE is on (the tests' loopback receivers)."""
import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from rooms.errors import ChatError

INVALID_WEBHOOK = "invalid_webhook"


def check_url_form(url):
    """(scheme, host, port, path) of a webhook URL, or ChatError for one that is not http(s)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ChatError(INVALID_WEBHOOK, "The webhook URL is not a URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChatError(INVALID_WEBHOOK, "The webhook URL must be http:// or https:// with a host.")
    if parts.username or parts.password:
        raise ChatError(INVALID_WEBHOOK, "The webhook URL may not carry a user name or password.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def check_url(url):
    """What can be said of a webhook URL when it is saved, without a DNS lookup: its form, and
    an address written in it (or `localhost`) that is not public is refused unless allowed. The
    name's addresses are checked again at every delivery (`resolve`)."""
    scheme, host, port, path = check_url_form(url)
    if settings.CHAT_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost") or (
            literal is not None and not public(str(literal))):
        raise ChatError(INVALID_WEBHOOK, f"The webhook host {host} is not a public address.")


def public(address):
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(url):
    """(scheme, host, port, path, address to connect to) for a webhook URL; ChatError if the URL
    is malformed, does not resolve, or resolves to any address that is not public (unless allowed)."""
    scheme, host, port, path = check_url_form(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ChatError(INVALID_WEBHOOK, f"The webhook host does not resolve ({exc}).") from None
    found = [info[4][0] for info in infos]
    if not found:
        raise ChatError(INVALID_WEBHOOK, "The webhook host does not resolve.")
    if not settings.CHAT_WEBHOOK_ALLOW_PRIVATE:
        refused = [a for a in found if not public(a)]
        if refused:
            raise ChatError(INVALID_WEBHOOK, f"The webhook host resolves to a non-public address ({refused[0]}).")
    return scheme, host, port, path, found[0]
