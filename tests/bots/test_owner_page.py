"""A room's owner makes, sees and revokes its bots on /rooms/<CODE>/bots/ (issue 16): the token is
shown once and works; nobody else may; a room's bots are bounded."""
import re

import pytest

from rooms.bots.accounts import bot_for_token
from rooms.bots.models import Bot

pytestmark = pytest.mark.django_db


def _own_room(client):
    response = client.post("/", {"name": "Owner", "code": "", "action": "create"})
    return re.fullmatch(r"/rooms/([A-Z]{4})/", response["Location"]).group(1)


def test_the_owner_makes_a_bot_sees_its_token_once_and_it_works_in_the_room(client):
    code = _own_room(client)
    page = client.post(f"/rooms/{code}/bots/", {"action": "create", "name": "Helper"}).content.decode()
    token = re.search(r'id="bot-token"[^>]*value="(cb_[\w-]+)"', page).group(1)
    bot = bot_for_token(token)
    assert bot is not None and bot.room.code == code and bot.identity.name == "Helper"
    assert token not in Bot.objects.values_list("token_hash", flat=True)[0]  # only its hash is kept
    again = client.get(f"/rooms/{code}/bots/").content.decode()
    assert "Helper" in again and token not in again  # listed, the token never shown again


def test_the_owner_revokes_a_bot_and_its_token_stops_working(client):
    code = _own_room(client)
    page = client.post(f"/rooms/{code}/bots/", {"action": "create", "name": "Helper"}).content.decode()
    token = re.search(r'value="(cb_[\w-]+)"', page).group(1)
    bot = Bot.objects.get()
    assert client.post(f"/rooms/{code}/bots/", {"action": "revoke", "bot": str(bot.pk)}).status_code == 302
    assert bot_for_token(token) is None


def test_someone_who_is_not_the_owner_can_neither_see_nor_make_bots(client, django_user_model):
    from django.test import Client

    code = _own_room(client)
    stranger = Client()
    response = stranger.post(f"/rooms/{code}/bots/", {"action": "create", "name": "Sneaky"})
    assert response.status_code == 403 and b"Only the room&#x27;s owner" in response.content
    assert not Bot.objects.exists()
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    stranger.force_login(staff)
    assert stranger.get(f"/rooms/{code}/bots/").status_code == 200  # staff act as an owner everywhere


def test_a_bad_webhook_and_too_many_bots_are_refused_with_the_reason(client, settings):
    settings.CHAT_BOTS_PER_ROOM = 1
    code = _own_room(client)
    response = client.post(f"/rooms/{code}/bots/", {"action": "create", "name": "Hook",
                                                    "webhook_url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 400 and b'id="bots-error"' in response.content
    assert client.post(f"/rooms/{code}/bots/", {"action": "create", "name": "One"}).status_code == 200
    response = client.post(f"/rooms/{code}/bots/", {"action": "create", "name": "Two"})
    assert response.status_code == 400 and b"as many as a room may have" in response.content
    assert list(Bot.objects.values_list("identity__name", flat=True)) == ["One"]
