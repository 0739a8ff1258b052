"""`manage.py create_bot CODE NAME [--webhook URL] [--mentions-only]`: a bot for a room; the
token (shown only now) alone on the last line."""
from django.core.management.base import BaseCommand, CommandError

from rooms import bots, selectors
from rooms.errors import ChatError


class Command(BaseCommand):
    help = "Create a bot for a room and print its token (alone on the last line; it is not shown again)."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("name")
        parser.add_argument("--webhook", default="", help="URL that every new message of the room is POSTed to")
        parser.add_argument("--mentions-only", action="store_true", help="deliver only messages that mention the bot")

    def handle(self, code, name, webhook, mentions_only, **options):
        room = selectors.room_by_code(code)
        if room is None:
            raise CommandError(f"No room {code!r}.")
        try:
            bot, token = bots.create_bot(room, name, webhook_url=webhook, mentions_only=mentions_only)
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"Bot {bot.identity.name!r} ({bot.identity.public_id}) in room {room.code}.")
        if webhook:
            self.stdout.write(f"Webhook secret (X-Chatsite-Signature key): {bot.webhook_secret}")
        self.stdout.write("Token (shown only now):")
        self.stdout.write(token)
