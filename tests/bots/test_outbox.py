"""The outbox: delivery rows commit with their messages, only for webhook bots of the room,
never for bots' own messages; claims never hand one row to two workers; a lease that runs out
makes a row due again; retries back off and give up; webhook addresses are checked."""
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from rooms import bots, services
from rooms.bots import addresses, delivery, outbox
from rooms.bots.models import BotDelivery
from rooms.errors import ChatError
from tests.conftest import send_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_bot_cache(settings):
    settings.CHAT_WEBHOOK_BOTS_CACHE_SECONDS = 0
    outbox.forget_bots()


def test_rows_commit_with_messages_only_for_webhook_bots(alice):
    room, quiet_room = services.room_create(), services.room_create()
    hooked, _ = bots.create_bot(room, "Hooked", webhook_url="https://example.com/hook")
    bots.create_bot(room, "No hook")
    frame, _ = send_message(room=room, author=alice, body="hello")
    send_message(room=quiet_room, author=alice, body="nobody listens here")
    rows = list(BotDelivery.objects.values_list("bot_id", "message_id", "seq", "status"))
    assert rows == [(hooked.pk, frame["id"], frame["seq"], "pending")]
    import json

    assert json.loads(BotDelivery.objects.get().payload) == frame


def test_bots_own_messages_are_not_delivered(alice):
    room = services.room_create()
    hooked, _ = bots.create_bot(room, "Hooked", webhook_url="https://example.com/hook")
    other, _ = bots.create_bot(room, "Other")
    send_message(room=room, author=other.identity, body="I am a bot")
    send_message(room=room, author=hooked.identity, body="me too")
    assert not BotDelivery.objects.exists()


def test_mentions_only(alice):
    room = services.room_create()
    bots.create_bot(room, "Ping Bot", webhook_url="https://example.com/hook", mentions_only=True)
    send_message(room=room, author=alice, body="ping bot without the at")
    called, _ = send_message(room=room, author=alice, body="@PING BOT ping")
    send_message(room=room, author=alice, body="@Ping Bottle is someone else")
    assert list(BotDelivery.objects.values_list("message_id", flat=True)) == [called["id"]]


def test_revoked_bot_gets_nothing_more(alice):
    room = services.room_create()
    bot, _ = bots.create_bot(room, "Hooked", webhook_url="https://example.com/hook")
    send_message(room=room, author=alice, body="one")
    bots.revoke_bot(bot)
    send_message(room=room, author=alice, body="two")
    assert list(BotDelivery.objects.values_list("status", flat=True)) == ["dropped"]


def test_concurrent_claims_never_share_a_row(alice):
    room = services.room_create()
    bots.create_bot(room, "Hooked", webhook_url="https://example.com/hook")
    for n in range(40):
        send_message(room=room, author=alice, body=f"m{n}")
    claimed, errors = [], []
    start = threading.Barrier(4)

    def worker():
        try:
            start.wait()
            while rows := delivery.claim(3):
                claimed.extend(row.pk for row in rows)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(claimed) == sorted(BotDelivery.objects.values_list("pk", flat=True))
    assert len(claimed) == 40


def test_a_lease_that_ran_out_makes_the_row_due_again(alice):
    room = services.room_create()
    bots.create_bot(room, "Hooked", webhook_url="https://example.com/hook")
    send_message(room=room, author=alice, body="m")
    [row] = delivery.claim(10)
    assert delivery.claim(10) == []  # leased
    BotDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))  # the worker died
    [again] = delivery.claim(10)
    assert again.pk == row.pk and again.attempts == 2


def test_retries_back_off_then_give_up(alice, settings):
    settings.CHAT_WEBHOOK_MAX_ATTEMPTS = 3
    settings.CHAT_WEBHOOK_BACKOFF_SECONDS = 2
    assert [delivery.backoff(n) for n in (1, 2, 3)] == [2, 4, 8]
    room = services.room_create()
    bots.create_bot(room, "Hooked", webhook_url="https://example.com/hook")
    send_message(room=room, author=alice, body="m")
    for attempt in range(1, 4):
        BotDelivery.objects.update(next_attempt_at=timezone.now())
        [row] = delivery.claim(10)
        assert row.attempts == attempt
        delivery.finish(row, status=BotDelivery.PENDING, error="down")
    assert BotDelivery.objects.get().status == "failed"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/", "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
])
def test_private_and_loopback_addresses_are_refused(url, settings):
    settings.CHAT_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ChatError) as refused:
        addresses.resolve(url)
    assert refused.value.code == "invalid_webhook"


def test_loopback_allowed_by_the_setting(settings):
    settings.CHAT_WEBHOOK_ALLOW_PRIVATE = True
    assert addresses.resolve("http://127.0.0.1:9/hook")[-1] == "127.0.0.1"


def test_public_address_and_bad_urls():
    assert addresses.resolve("https://93.184.216.34/x?y=1") == ("https", "93.184.216.34", 443, "/x?y=1", "93.184.216.34")
    for url in ["ftp://example.com/", "http:///nohost", "http://user:pw@example.com/", "not a url"]:
        with pytest.raises(ChatError):
            addresses.check_url_form(url)


def test_a_webhook_on_a_private_address_is_refused_when_the_bot_is_made(settings):
    settings.CHAT_WEBHOOK_ALLOW_PRIVATE = False
    room = services.room_create()
    for url in ["http://127.0.0.1:8081/", "http://localhost/", "http://[fd00::1]/", "http://10.0.0.8/"]:
        with pytest.raises(ChatError) as refused:
            bots.create_bot(room, "Inside", webhook_url=url)
        assert refused.value.code == "invalid_webhook"
    bots.create_bot(room, "Outside", webhook_url="https://example.com/hook")  # names are checked at delivery
    settings.CHAT_WEBHOOK_ALLOW_PRIVATE = True
    bots.create_bot(room, "Allowed", webhook_url="http://127.0.0.1:8081/")
