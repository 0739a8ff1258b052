"""manage.py export_room CODE [--format jsonl|md] [--after SEQ]: a room's history to stdout."""
from django.core.management.base import BaseCommand, CommandError

from rooms import export, selectors


class Command(BaseCommand):
    help = "Write a room's whole history (or what follows --after SEQ) to stdout as JSON Lines or Markdown."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--format", choices=export.FORMATS, default="jsonl")
        parser.add_argument("--after", type=int, default=0, help="only messages with a seq above this")

    def handle(self, code, format, after, **options):
        room = selectors.room_by_code(code)
        if room is None:
            raise CommandError(f"There is no room with the code {code.strip().upper()[:16]}.")
        for text in export.text_chunks(room, format, after):
            self.stdout.write(text, ending="")
