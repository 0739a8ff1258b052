"""The lobby: a shared public room one click from the home page."""
import pytest

from rooms import services
from rooms.models import Room

pytestmark = pytest.mark.django_db


def test_the_lobby_button_takes_you_to_the_lobby_with_your_name(client):
    response = client.post("/", {"name": "Lee", "code": "", "action": "lobby"})
    assert response.status_code == 302 and response["Location"] == "/rooms/LOBBY/"
    page = client.get("/rooms/LOBBY/").content.decode()
    assert "everyone who opens the site" in page.lower() and "Lee" in page


def test_the_home_page_offers_the_lobby(client):
    assert 'value="lobby"' in client.get("/").content.decode()


def test_room_pages_link_to_the_lobby(client):
    room = services.room_create()
    assert 'href="/rooms/LOBBY/"' in client.get(f"/rooms/{room.code}/").content.decode()


def test_the_lobby_page_works_before_anyone_pressed_the_button(client):
    assert client.get("/rooms/LOBBY/").status_code == 200
    assert Room.objects.filter(code="LOBBY").count() == 1


def test_the_lobby_code_follows_the_setting(client, settings):
    settings.CHAT_LOBBY_CODE = "HALL"
    response = client.post("/", {"name": "", "code": "", "action": "lobby"})
    assert response["Location"] == "/rooms/HALL/"


def test_the_random_generator_never_hands_out_the_lobby_code():
    codes = iter(["LOBBY", "LOBBY", "ABCD"])
    assert services.room_create(generate=lambda length: next(codes)).code == "ABCD"
    assert not Room.objects.filter(code="LOBBY").exists()


def test_off_removes_the_button_and_the_page(client, settings):
    settings.CHAT_LOBBY_CODE = "off"
    assert 'value="lobby"' not in client.get("/").content.decode()
    assert client.get("/rooms/LOBBY/").status_code == 404
    response = client.post("/", {"name": "", "code": "", "action": "lobby"})
    assert response.status_code == 200 and "turned off" in response.content.decode()


@pytest.mark.django_db(transaction=True)
async def test_two_people_meet_and_talk_in_the_lobby(connect, alice, bob):
    a = await connect("LOBBY", alice)
    b = await connect("lobby", bob)
    assert (await a.receive_type("join"))["member"]["id"] == bob.public_id
    await b.send({"type": "message", "body": "hi all"})
    assert (await a.receive_type("message"))["body"] == "hi all"
    await b.send({"type": "typing"})
    assert (await a.receive_type("typing"))["member"]["name"] == "Bob"
