"""`manage.py runserver`: daphne's development server with chatsite's socket limits.

The same ChatServer as `python -m chatsite.serve` (the send-buffer bound, the incoming size
limit on the frame header, the header deadline, no banner, the `chatsite.frames` extension),
so every limit in docs/protocol.md holds on every server the README names.
"""
from daphne.management.commands.runserver import Command as DaphneRunserver

from rooms.live.servers.daphne_server import chat_server


class Command(DaphneRunserver):
    help = "Starts daphne's development server with chatsite's socket limits."

    def inner_run(self, *args, **options):
        self.server_cls = chat_server()
        return super().inner_run(*args, **options)
