"""An identity you can carry (rooms/carry.py): /me/ makes a key link shown once; the link, opened
in another browser and confirmed, makes that browser the same identity."""
import hashlib
import re
from datetime import timedelta

import pytest
import segno
from django.test import Client
from django.utils import timezone

from rooms import services
from rooms.models import Identity, IdentityKey
from tests.conftest import identity_of

pytestmark = pytest.mark.django_db


def _make_key(client):
    response = client.post("/me/key/")
    assert response.status_code == 200
    link = re.search(r'value="(http://testserver/me/restore/[A-Za-z0-9_-]+/)"', response.content.decode()).group(1)
    return response, link.removeprefix("http://testserver")


def _named(client, name):
    client.post("/", {"action": "create", "name": name, "code": ""})
    return identity_of(client)


def test_the_identity_page_shows_the_name_and_avatar_and_no_key_yet(client):
    me = _named(client, "Alice")
    page = client.get("/me/").content.decode()
    assert "Alice" in page and f"/avatars/{me.public_id}.svg" in page
    assert "Make a key link" in page and "/me/restore/" not in page


def test_a_key_link_is_shown_once_with_a_qr_code_drawn_here_and_only_its_hash_is_stored(client):
    me = _named(client, "Alice")
    response, path = _make_key(client)
    page = response.content.decode()
    assert "<svg" in page and 'class="segno"' in page  # the QR code, inline: no image service
    assert segno.make("http://testserver" + path, error="m").svg_inline(scale=4, border=4, dark="#000", light="#fff") in page
    assert "no-store" in response["Cache-Control"]
    secret = path.split("/")[-2]
    key = IdentityKey.objects.get(identity__public_id=me.public_id)
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(list(IdentityKey.objects.values_list()))
    assert "/me/restore/" not in client.get("/me/").content.decode()  # never shown again


def test_a_fresh_browser_becomes_the_same_identity_after_confirming(client):
    me = _named(client, "Alice")
    _, path = _make_key(client)
    other = Client()
    other.get("/")
    confirm = other.get(path)
    assert confirm.status_code == 200 and "Become Alice?" in confirm.content.decode()
    assert identity_of(other) is None or identity_of(other).public_id != me.public_id  # a GET changes nothing
    done = other.post(path)
    assert done.status_code == 302
    assert identity_of(other).public_id == me.public_id
    page = other.get("/me/").content.decode()
    assert "Alice" in page and f"/avatars/{me.public_id}.svg" in page


def test_the_confirmation_needs_the_csrf_token():
    _named(owner := Client(), "Alice")
    _, path = _make_key(owner)
    stranger = Client(enforce_csrf_checks=True)
    assert stranger.post(path).status_code == 403
    assert identity_of(stranger) is None


def test_a_new_key_replaces_the_old_one(client):
    _named(client, "Alice")
    _, old = _make_key(client)
    _, new = _make_key(client)
    assert old != new
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200
    assert IdentityKey.objects.count() == 1


@pytest.mark.parametrize("path", ["/me/restore/not-a-real-secret-at-all-000000/", "/me/restore/x/",
                                  "/me/restore/%E2%80%AE%00/"])
def test_an_unknown_link_is_a_clear_404_with_a_way_home(client, path):
    response = client.get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert "key link is unknown" in page and 'href="/"' in page
    assert client.post(path).status_code == 404


def test_an_expired_link_is_refused(client, settings):
    settings.CHAT_IDENTITY_KEY_DAYS = 30
    _named(client, "Alice")
    _, path = _make_key(client)
    IdentityKey.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert Client().get(path).status_code == 404


def test_a_browser_without_a_row_gets_one_when_it_makes_a_key(client):
    client.get("/")  # a first visit: a cookie, no row
    client.get("/me/")
    assert Identity.objects.count() == 0
    _make_key(client)
    assert Identity.objects.filter(public_id=identity_of(client).public_id, acted_at__isnull=False).exists()


def test_restoring_is_rate_limited_per_address(client, settings):
    settings.CHAT_RESTORE_LIMIT = "3/600"
    for _ in range(3):
        assert client.get("/me/restore/not-a-real-secret-at-all-000000/").status_code == 404
    refused = client.get("/me/restore/not-a-real-secret-at-all-000000/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    other_address = Client(REMOTE_ADDR="10.9.9.9")
    assert other_address.get("/me/restore/not-a-real-secret-at-all-000000/").status_code == 404


def test_a_rename_after_restoring_is_seen_by_both_browsers(client):
    me = _named(client, "Alice")
    _, path = _make_key(client)
    other = Client()
    other.post(path)
    services.identity_rename(identity=Identity.objects.get(public_id=me.public_id), name="Alicia")
    assert "Alicia" in client.get("/me/").content.decode()
    assert "Alicia" in other.get("/me/").content.decode()


def test_the_home_and_room_pages_link_to_the_identity_page(client, room):
    assert 'href="/me/"' in client.get("/").content.decode()
    assert 'href="/me/"' in client.get(f"/rooms/{room.code}/").content.decode()


def test_making_keys_counts_against_the_same_limit(client, settings):
    settings.CHAT_RESTORE_LIMIT = "2/600"
    _named(client, "Alice")
    _make_key(client)
    _make_key(client)
    refused = client.post("/me/key/")
    assert refused.status_code == 429 and "Retry-After" in refused
