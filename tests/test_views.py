"""The home form, the room page and the avatars, as a browser sees them over HTTP."""
import re

import pytest
from django.test import Client

from rooms import services
from rooms.models import Identity, Room
from tests.conftest import identity_of, send_message

pytestmark = pytest.mark.django_db


def _post(client, **data):
    return client.post("/", {"name": "", "code": "", **data})


def test_create_redirects_to_a_new_room_with_a_random_code(client):
    response = _post(client, action="create")
    assert response.status_code == 302
    code = re.fullmatch(r"/rooms/([A-Z]{4})/", response["Location"]).group(1)
    assert Room.objects.filter(code=code).exists()


def test_join_takes_a_code_in_any_case_with_spaces(client):
    room = services.room_create()
    response = _post(client, action="join", code=f"  {room.code.lower()} ")
    assert response.status_code == 302 and response["Location"] == f"/rooms/{room.code}/"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "join", "code": "", "name": "Kim"}, "Type the code"),
        ({"action": "join", "code": "QQQQ", "name": "Kim"}, "There is no room with the code QQQQ"),
        ({"action": "create", "name": "K" * 33}, "at most 32 characters"),
    ],
)
def test_a_bad_form_comes_back_with_an_error_and_the_typed_values(client, data, error):
    response = _post(client, **data)
    assert response.status_code == 200
    page = response.content.decode()
    assert error in page
    assert f'value="{data["name"]}"' in page
    if data.get("code"):
        assert f'value="{data["code"]}"' in page


def test_a_blank_name_gets_a_random_identity_and_a_given_name_is_used(client):
    location = _post(client, action="create")["Location"]
    client.get(location)
    random_one = identity_of(client)
    assert len(random_one.name.split()) == 2
    # Creating a room is an act: its owner is stored (issue 15); a visitor who only reads is not.
    assert random_one.pk is not None and Identity.objects.count() == 1
    visitor = Client()
    visitor.get(location)  # the room page gives the browser its identity
    assert identity_of(visitor).pk is None and Identity.objects.count() == 1
    other = Client()
    _post(other, action="create", name="Kim")
    assert Identity.objects.get(public_id=identity_of(other).public_id).name == "Kim"


def test_the_home_form_is_prefilled_with_the_name_this_browser_has(client):
    _post(client, action="create", name="Kim")
    assert 'value="Kim"' in client.get("/").content.decode()


def test_a_new_name_on_the_home_form_renames_the_same_identity(client):
    _post(client, action="create", name="Kim")
    first = identity_of(client).public_id
    _post(client, action="create", name="Kimberly")
    assert identity_of(client).public_id == first
    assert Identity.objects.get(public_id=first).name == "Kimberly"


def test_the_home_form_needs_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/", {"action": "create"}).status_code == 403


def test_the_room_page_works_from_a_link_without_the_home_page(client):
    room = services.room_create()
    response = client.get(f"/rooms/{room.code}/")
    assert response.status_code == 200
    you = identity_of(client)
    assert you is not None and you.public_id in response.content.decode()
    assert room.code in response.content.decode()


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_the_room_page_shows_the_last_fifty_messages_as_text(client):
    room, author = services.room_create(), services.identity_create(name="Eve")
    for n in range(52):
        send_message(room=room, author=author, body=f"note {n}")
    send_message(room=room, author=author, body="<script>alert(1)</script> see https://example.org")
    page = client.get(f"/rooms/{room.code}/").content.decode()
    assert "note 2<" not in page and "note 3<" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_lower_case_room_address_redirects_to_the_canonical_one(client):
    room = services.room_create()
    response = client.get(f"/rooms/{room.code.lower()}/")
    assert response.status_code == 302 and response["Location"] == f"/rooms/{room.code}/"


def test_an_unknown_room_is_a_404_page_with_a_way_home(client):
    response = client.get("/rooms/NOPE/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "There is no room with the code NOPE" in page and 'href="/"' in page


def test_an_avatar_is_an_svg_drawn_by_the_app(client):
    identity = services.identity_create()
    response = client.get(f"/avatars/{identity.public_id}.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and b"http" not in response.content.replace(b"http://www.w3.org/2000/svg", b"")
    assert client.get(f"/avatars/{identity.public_id}.svg").content == response.content


def test_an_unknown_avatar_is_a_404(client):
    assert client.get("/avatars/nobody.svg").status_code == 404
