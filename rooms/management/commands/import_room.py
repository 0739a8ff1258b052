"""manage.py import_room FILE [--code NEW]: a JSON Lines export back as a new room."""
from django.core.management.base import BaseCommand, CommandError

from rooms import importer


class Command(BaseCommand):
    help = ("Import a room's JSON Lines export (manage.py export_room) as a new room, with the code "
            "given or a new one. A file with any wrong line is refused whole, naming the line.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--code", default=None, help="the new room's code (default: a new random one)")

    def handle(self, file, code, **options):
        try:
            room = importer.import_room(file, code=code)
        except importer.ImportRefused as exc:
            raise CommandError(f"{file}: {exc}; nothing was imported.") from None
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from None
        self.stdout.write(f"Imported room {room.code} (seq {room.seq}).")
