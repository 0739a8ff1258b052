"""WSGI entry point, for management tools only; the chat itself needs ASGI (chatsite.asgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
application = get_wsgi_application()
