"""Staff make bots in the admin (the token shown once, only its hash kept), revoke them, and
read the delivery log."""
import re

import pytest
from django.test import Client

from rooms import bots, services
from rooms.bots import accounts, outbox, tokens
from rooms.bots.models import Bot, BotDelivery
from tests.conftest import send_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_superuser("mod", "mod@example.org", "pw")
    client = Client()
    client.force_login(user)
    return client, user


def test_staff_create_a_bot_and_see_its_token_once(staff):
    client, user = staff
    room = services.room_create()
    response = client.post("/admin/rooms/bot/add/", {"room": room.pk, "name": "Helper", "webhook_url": "",
                                                     "deliveries-TOTAL_FORMS": "0", "deliveries-INITIAL_FORMS": "0"},
                           follow=True)
    page = response.content.decode()
    token = re.search(r"shown only now: (cb_[\w-]+)", page).group(1)
    bot = Bot.objects.get()
    assert bot.room == room and bot.identity.name == "Helper" and bot.created_by == user
    assert bot.token_hash == tokens.token_hash(token) and token not in str(Bot.objects.values().get())
    assert accounts.bot_for_token(token) == bot
    assert token not in client.get(f"/admin/rooms/bot/{bot.pk}/change/").content.decode()


def test_staff_revoke_and_read_the_delivery_log(staff, alice, settings):
    client, _ = staff
    settings.CHAT_WEBHOOK_BOTS_CACHE_SECONDS = 0
    outbox.forget_bots()
    room = services.room_create()
    bot, token = bots.create_bot(room, "Hooked", webhook_url="https://example.com/hook")
    send_message(room=room, author=alice, body="hello")
    delivery = BotDelivery.objects.get()
    assert client.get(f"/admin/rooms/botdelivery/{delivery.pk}/change/").status_code == 200
    page = client.get(f"/admin/rooms/bot/{bot.pk}/change/").content.decode()
    assert "pending" in page and bot.webhook_secret in page
    client.post("/admin/rooms/bot/", {"action": "revoke", "_selected_action": [bot.pk]})
    assert accounts.bot_for_token(token) is None
    assert BotDelivery.objects.get().status == "dropped"


def test_a_bots_avatar_is_drawn_like_anyones():
    bot, _ = bots.create_bot(services.room_create(), "Painter")
    response = Client().get(f"/avatars/{bot.identity.public_id}.svg")
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
