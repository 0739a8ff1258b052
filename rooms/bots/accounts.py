"""Creating, revoking and recognising bots. Every write of a bot comes through here."""
import secrets

from django.db import transaction
from django.utils import timezone

from rooms import avatars, names, services
from rooms.bots import BOT_ID_PREFIX, addresses, outbox, tokens
from rooms.bots.models import Bot
from rooms.errors import ChatError
from rooms.models import Identity


def create_bot(*, room, name, created_by=None, webhook_url="", mentions_only=False):
    """A new bot of `room` named `name`, with an identity of its own (marked bot in frames) ->
    (bot, token). The token is returned only here: the database keeps its hash."""
    clean = services.identity_name_clean(name=name)
    if clean is None:
        raise ChatError("invalid_name", "A bot needs a name with at least one visible character.")
    if webhook_url:
        addresses.check_url(webhook_url)
    token = tokens.new_token()
    with transaction.atomic():
        identity = Identity.objects.create(
            public_id=BOT_ID_PREFIX + secrets.token_urlsafe(9), name=clean, name_key=names.name_key(clean),
            avatar_seed=avatars.new_seed(), acted_at=timezone.now(),
        )
        bot = Bot.objects.create(
            room=room, identity=identity, token_hash=tokens.token_hash(token), created_by=created_by,
            webhook_url=webhook_url, webhook_secret=tokens.new_webhook_secret(), webhook_mentions_only=mentions_only,
        )
        transaction.on_commit(outbox.forget_bots)
    return bot, token


def revoke_bot(*, bot):
    """The bot's token stops working at once (401), its sockets are refused from their next
    handshake, and its pending webhook deliveries are dropped."""
    from rooms.bots.models import BotDelivery

    with transaction.atomic():
        Bot.objects.filter(pk=bot.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        BotDelivery.objects.filter(bot=bot, status=BotDelivery.PENDING).update(status=BotDelivery.DROPPED)
        transaction.on_commit(outbox.forget_bots)
    bot.refresh_from_db()
    return bot


def bot_for_token(token):
    """The active bot a token belongs to (its room and identity loaded), or None."""
    if not isinstance(token, str) or not token.startswith(tokens.PREFIX) or len(token) > 200:
        return None
    bot = Bot.objects.select_related("room", "identity").filter(token_hash=tokens.token_hash(token)).first()
    if bot is None or bot.revoked_at is not None or not tokens.matches(token, bot.token_hash):
        return None
    return bot
