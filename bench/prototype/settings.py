"""chatsite's settings with the prototype channel layer (chatsite/layers.py), for side-by-side runs."""
from chatsite.settings import *  # noqa: F401,F403
from chatsite.settings import CHANNEL_CAPACITY, CHANNEL_LAYERS

if CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer":
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "chatsite.layers.InMemoryChannelLayer", "CONFIG": {"capacity": CHANNEL_CAPACITY}}
    }
