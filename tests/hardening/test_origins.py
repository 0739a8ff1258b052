"""A socket opens only from the site's own origin: scheme, host and port exactly, or a trusted one.

The hijack these guard against: a page on another port of the same host (another app, a dev
server) opens the room socket in a visitor's browser, which sends the visitor's cookie along.
"""
import pytest

from tests.conftest import HOST

pytestmark = pytest.mark.django_db(transaction=True)


def origin(value):
    return (b"origin", value.encode())


@pytest.mark.parametrize("foreign", [
    "http://localhost:9999",  # another port of the same host: the hijack
    "http://localhost:80",
    "https://localhost",  # another scheme
    "null",  # a sandboxed frame, a file: page
    "http://evil.example",
    "http://localhost.evil.example",
])
async def test_a_socket_from_any_other_origin_is_refused_in_the_handshake(open_socket, room, alice, foreign):
    client = await open_socket(room.code, alice, origin=origin(foreign))
    assert not client.connected


async def test_a_socket_from_the_sites_own_origin_opens(open_socket, room, alice):
    client = await open_socket(room.code, alice, origin=origin("http://localhost"))
    assert client.connected
    assert (await client.receive())["type"] == "hello"


async def test_the_port_of_the_host_header_is_part_of_the_origin(open_socket, room, alice):
    headers = ((b"host", b"localhost:8000"),)
    assert (await open_socket(room.code, alice, origin=origin("http://localhost:8000"), headers=headers)).connected
    assert not (await open_socket(room.code, alice, origin=origin("http://localhost"), headers=headers)).connected
    assert not (await open_socket(room.code, alice, origin=origin("http://localhost:9999"), headers=headers)).connected


async def test_a_host_outside_allowed_hosts_is_refused_even_with_a_matching_origin(open_socket, room, alice):
    headers = ((b"host", b"evil.example"),)
    assert not (await open_socket(room.code, alice, origin=origin("http://evil.example"), headers=headers)).connected


async def test_behind_a_tls_proxy_the_origin_is_https(open_socket, room, alice, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    headers = (HOST, (b"x-forwarded-proto", b"https"))
    assert (await open_socket(room.code, alice, origin=origin("https://localhost"), headers=headers)).connected
    assert not (await open_socket(room.code, alice, origin=origin("http://localhost"), headers=headers)).connected


async def test_a_wss_handshake_is_https(open_socket, room, alice):
    assert (await open_socket(room.code, alice, origin=origin("https://localhost"), scheme="wss")).connected
    assert not (await open_socket(room.code, alice, origin=origin("http://localhost"), scheme="wss")).connected


async def test_an_entry_of_csrf_trusted_origins_is_accepted(open_socket, room, alice, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.org", "https://*.example.net"]
    assert (await open_socket(room.code, alice, origin=origin("https://chat.example.org"))).connected
    assert (await open_socket(room.code, alice, origin=origin("https://eu.example.net"))).connected
    assert not (await open_socket(room.code, alice, origin=origin("http://chat.example.org"))).connected
    assert not (await open_socket(room.code, alice, origin=origin("https://chat.example.org:8443"))).connected
    assert not (await open_socket(room.code, alice, origin=origin("http://eu.example.net"))).connected
