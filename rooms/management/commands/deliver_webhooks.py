"""`manage.py deliver_webhooks`: a webhook worker of its own (for CHAT_WEBHOOK_WORKER=off, or
beside the servers' loops: claims never overlap). Stops on SIGTERM or Ctrl-C; a delivery it was
making is made again by any worker once its lease ends."""
import asyncio
import signal

from django.core.management.base import BaseCommand

from rooms.bots.delivery import DeliveryLoop


class Command(BaseCommand):
    help = "Deliver the bots' webhooks until stopped."

    def handle(self, **options):
        async def main():
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            self.stdout.write("delivering webhooks", ending="\n")
            self.stdout.flush()
            runner = asyncio.ensure_future(DeliveryLoop().run(stop))
            await stop.wait()
            runner.cancel()
            try:
                await runner
            except asyncio.CancelledError:
                pass

        asyncio.run(main())
