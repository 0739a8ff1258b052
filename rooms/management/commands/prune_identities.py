"""`manage.py prune_identities [--days N]`: delete identities that never did anything.

Before identities lived in a cookie until their first act (rooms/identities.py), every page load
made a row. This deletes those that never acted, wrote nothing and are not present, older than
N days (default 7). Run it daily beside `manage.py clearsessions` (docs/deploy.md has the cron
lines); with the cookie, no new ones are made.
"""
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from rooms import services


class Command(BaseCommand):
    help = "Delete identities that never acted (made by page loads), wrote nothing and are not present."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="only identities older than this many days")

    def handle(self, *args, days, **options):
        count = services.identities_prune(older_than=timezone.now() - timedelta(days=days))
        self.stdout.write(f"{count} identities removed")
