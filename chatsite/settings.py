"""Settings for chatsite, read from the environment with defaults that run on one machine.

Nothing set: SQLite in the project folder and the in-memory channel layer.
DATABASE_URL (PostgreSQL) and REDIS_URL (channels-redis) scale it out without code changes.
"""
import os
from pathlib import Path

import dj_database_url

from chatsite.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Before daphne: its runserver command runs daphne with chatsite's socket limits.
    "rooms.live.servers",
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",  # the bots' API: its /api/docs page's template and static files
    "rooms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "rooms.identities.IdentityCookieMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite: WAL lets readers run beside the writer, and IMMEDIATE transactions take the write
# lock up front so two writers queue instead of failing with "database is locked" mid-way.
VAR_DIR = Path(env_str("CHATSITE_VAR_DIR", str(BASE_DIR / "var")))
_SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _SQLITE_DEFAULT))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Keep the connection. With Django's default (0) every database_sync_to_async call closed
    # it, and closing the last connection to a WAL database checkpoints, fsyncs and deletes the
    # WAL file: measured at 2,000 deliveries/s, most of the server's CPU per stored message.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 600)
    # One test database file per process, so parallel runs on one machine never share one.
    DATABASES["default"]["TEST"] = {"NAME": env_str("SQLITE_TEST_NAME", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))}
elif env_int("DATABASE_POOL_SIZE", 10) > 0:
    # PostgreSQL through a bounded pool per worker process (psycopg_pool, Django's "pool" option).
    # Django's ASGI handler runs each request's sync code on a thread of its own, and each such
    # thread opened (and, with CONN_MAX_AGE, kept) a connection: a burst of page loads on two
    # workers went past PostgreSQL's 100 connections and answered 500. With the pool a worker
    # holds at most DATABASE_POOL_SIZE connections; a request past them waits for one (up to
    # DATABASE_POOL_TIMEOUT seconds). Persistent connections (CONN_MAX_AGE) are the pool's job.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DATABASE_POOL_SIZE", 10),
        "timeout": env_float("DATABASE_POOL_TIMEOUT", 10.0),
    }
else:  # DATABASE_POOL_SIZE=0: a connection per thread, kept CONN_MAX_AGE seconds
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env_str("DATABASE_TEST_NAME", ""):
        DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", "")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# redis-py 8 defaults socket_timeout to 5 s, and channels-redis blocks on reads for up to 5 s:
# idle consumers then die every 5 s (channels_redis#422). An explicit, longer timeout avoids it.
REDIS_URL = env_str("REDIS_URL", "")
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 30.0)
CHANNEL_CAPACITY = env_int("CHANNEL_CAPACITY", 1000)
# CHANNEL_LAYER picks the Redis layer; docs/deploy.md has the measurements behind the default.
# pubsub: one PUBLISH per room event, fanned out inside each worker; groups live in the worker and
# are re-subscribed when Redis comes back. core: one stored copy per recipient, groups in Redis.
CHANNEL_LAYER = env_str("CHANNEL_LAYER", "pubsub")
if REDIS_URL:
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    # A pooled connection that Redis dropped (restart, failover) is reopened and the command
    # retried, instead of failing the first command on each pooled connection after a blip.
    _redis_host = {
        "address": REDIS_URL,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.1), env_int("REDIS_RETRIES", 3)),
    }
    if CHANNEL_LAYER == "core":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [_redis_host],
                    "capacity": CHANNEL_CAPACITY,
                    "prefix": env_str("REDIS_PREFIX", "chatsite"),
                    "group_expiry": env_int("REDIS_GROUP_EXPIRY", 86400),
                },
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [_redis_host], "prefix": env_str("REDIS_PREFIX", "chatsite")},
            }
        }
else:
    CHANNEL_LAYERS = {
        "default": {
            # One process, one worker: its fan-out sends nothing through this layer (a lone worker
            # skips it); only several event loops in one process (tests) use it.
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY},
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Sessions are for staff logins now (a visitor's identity has its own cookie, below): one lasts at
# most STAFF_SESSION_SECONDS from the login (rooms/apps.py makes that an absolute expiry).
STAFF_SESSION_SECONDS = env_int("STAFF_SESSION_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_AGE = STAFF_SESSION_SECONDS
CHAT_IDENTITY_COOKIE = env_str("CHAT_IDENTITY_COOKIE", "chat_identity")
CHAT_IDENTITY_COOKIE_AGE = env_int("CHAT_IDENTITY_COOKIE_AGE", 60 * 60 * 24 * 365)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"rooms": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")}},
}

# --- chat limits (all documented in docs/protocol.md) ---
ROOM_CODE_LENGTH = env_int("ROOM_CODE_LENGTH", 4)
CHAT_RATE_LIMIT = env_str("CHAT_RATE_LIMIT", "20/10")
CHAT_TYPING_RATE_LIMIT = env_str("CHAT_TYPING_RATE_LIMIT", "1/2")
CHAT_MESSAGE_MAX_LENGTH = env_int("CHAT_MESSAGE_MAX_LENGTH", 2000)
CHAT_NAME_MAX_LENGTH = env_int("CHAT_NAME_MAX_LENGTH", 32)
CHAT_PAGE_SIZE = env_int("CHAT_PAGE_SIZE", 50)
CHAT_HISTORY_MAX = env_int("CHAT_HISTORY_MAX", 100)
CHAT_SYNC_MAX = env_int("CHAT_SYNC_MAX", 500)
CHAT_LEAVE_GRACE = env_float("CHAT_LEAVE_GRACE", 3.0)
CHAT_WRITE_QUEUE_MAX = env_int("CHAT_WRITE_QUEUE_MAX", 2000)
CHAT_WRITE_INTERVAL_MS = env_float("CHAT_WRITE_INTERVAL_MS", 25.0)  # a message batch starts at most this often
CHAT_REORDER_WAIT_MS = env_float("CHAT_REORDER_WAIT_MS", 100.0)  # a change ahead of a gap waits this long before the gap is filled from the database
CHAT_LISTEN_BACKLOG = env_int("CHAT_LISTEN_BACKLOG", 2048)  # connections the kernel queues before the server accepts them
CHAT_HANDSHAKES_AT_ONCE = env_int("CHAT_HANDSHAKES_AT_ONCE", 200)  # chatsite.serve takes no new connection past this many opening
CHAT_HANDSHAKE_BUDGET_SECONDS = env_float("CHAT_HANDSHAKE_BUDGET_SECONDS", 5.0)  # admit what finishes within this
CHAT_HANDSHAKES_MIN = env_int("CHAT_HANDSHAKES_MIN", 1000)  # handshakes in flight always admitted
CHAT_DRAIN_SECONDS = env_float("CHAT_DRAIN_SECONDS", 5.0)  # on SIGTERM, sockets are closed over this long
CHAT_TICK_SECONDS = env_float("CHAT_TICK_SECONDS", 5.0)
CHAT_HEARTBEAT_SECONDS = env_float("CHAT_HEARTBEAT_SECONDS", 10.0)
CHAT_PRESENCE_TIMEOUT = env_float("CHAT_PRESENCE_TIMEOUT", 40.0)
CHAT_LOBBY_CODE = env_str("CHAT_LOBBY_CODE", "LOBBY")
CHAT_EDIT_WINDOW_SECONDS = env_float("CHAT_EDIT_WINDOW_SECONDS", 3600.0)  # 0: authors may always edit
CHAT_REPORT_LIMIT = env_str("CHAT_REPORT_LIMIT", "5/600")  # reports per identity and per address in a window (docs/moderation.md)

# --- hardening (limits documented in docs/protocol.md, "Limits and abuse") ---
# HTTPS on by default with DEBUG off; a TLS-terminating proxy sets SECURE_PROXY_SSL_HEADER,
# e.g. "HTTP_X_FORWARDED_PROTO,https". bench/loopback.py turns these off for plain http.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = env_list("SECURE_REDIRECT_EXEMPT", [])
_SSL_HEADER = env_list("SECURE_PROXY_SSL_HEADER", [])
SECURE_PROXY_SSL_HEADER = tuple(_SSL_HEADER) if len(_SSL_HEADER) == 2 else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "chatsite.security.SecurityHeadersMiddleware",
)
MIDDLEWARE.append("rooms.live.guards.RoomCodeGuessMiddleware")

CHAT_FRAME_MAX_BYTES = env_int("CHAT_FRAME_MAX_BYTES", 64 * 1024)
CHAT_FLOOD_LIMIT = env_str("CHAT_FLOOD_LIMIT", "100/10")
CHAT_FLOOD_STRIKES = env_str("CHAT_FLOOD_STRIKES", "3/60")  # per address: flood closes before new sockets are refused
CHAT_WS_PER_ADDRESS = env_int("CHAT_WS_PER_ADDRESS", 30)
CHAT_CODE_GUESS_LIMIT = env_str("CHAT_CODE_GUESS_LIMIT", "20/300")
CHAT_ROOM_CREATE_LIMIT = env_str("CHAT_ROOM_CREATE_LIMIT", "10/600")  # rooms one address may create in a window
CHAT_REPLY_BUDGET = env_str("CHAT_REPLY_BUDGET", f"{8 * 1024 * 1024}/10")  # answer bytes (hello, sync, history) per address
CHAT_REPLY_WAIT_MAX_SECONDS = env_float("CHAT_REPLY_WAIT_MAX_SECONDS", 5.0)  # longer waits get rate_limited
CHAT_SEND_BUFFER_BYTES = env_int("CHAT_SEND_BUFFER_BYTES", 1024 * 1024)
CHAT_HEADER_TIMEOUT = env_float("CHAT_HEADER_TIMEOUT", 10.0)  # seconds for a request's headers, from its first byte
CHAT_HEADER_PENDING_PER_ADDRESS = env_int("CHAT_HEADER_PENDING_PER_ADDRESS", 30)  # connections waiting for their headers
# Search and export (rooms/search.py, rooms/export.py; docs/protocol.md "HTTP endpoints")
CHAT_SEARCH_QUERY_MAX_LENGTH = env_int("CHAT_SEARCH_QUERY_MAX_LENGTH", 200)  # characters of a search
CHAT_SEARCH_PAGE_SIZE = env_int("CHAT_SEARCH_PAGE_SIZE", 20)  # hits per page unless ?limit= says fewer
CHAT_SEARCH_PAGE_MAX = env_int("CHAT_SEARCH_PAGE_MAX", 50)  # the most ?limit= may ask
CHAT_SEARCH_RATE_LIMIT = env_str("CHAT_SEARCH_RATE_LIMIT", "30/60")  # searches per address in a window
CHAT_EXPORTS_PER_ADDRESS = env_int("CHAT_EXPORTS_PER_ADDRESS", 2)  # exports one address may stream at once
# `manage.py runserver` (daphne's) reads these; `python -m chatsite.serve` applies them itself.
# Outgoing frames count against autobahn's message limit too, and a full sync frame can be a
# few MB: the message limit stays high and the guard in rooms/guards.py refuses big input.
DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = CHAT_FRAME_MAX_BYTES
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = env_int("DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE", 16 * 1024 * 1024)

# --- bots (docs/bots.md) ---
CHAT_BOT_RATE_LIMIT = env_str("CHAT_BOT_RATE_LIMIT", CHAT_RATE_LIMIT)  # API requests per bot token, like a socket's frames
CHAT_BOTS_PER_ROOM = env_int("CHAT_BOTS_PER_ROOM", 10)  # active bots a room may have (its owner's page refuses more)
CHAT_API_ADDRESS_LIMIT = env_str("CHAT_API_ADDRESS_LIMIT", "120/10")  # /api/ requests per address, bad tokens included
CHAT_WEBHOOK_WORKER = env_str("CHAT_WEBHOOK_WORKER", "loop")  # loop: each server worker delivers; off: run manage.py deliver_webhooks
CHAT_WEBHOOK_ALLOW_PRIVATE = env_bool("CHAT_WEBHOOK_ALLOW_PRIVATE", False)  # loopback/private webhook URLs (tests, one-machine setups)
CHAT_WEBHOOK_TIMEOUT_SECONDS = env_float("CHAT_WEBHOOK_TIMEOUT_SECONDS", 5.0)  # connect and each read of a delivery
CHAT_WEBHOOK_MAX_RESPONSE_BYTES = env_int("CHAT_WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024)  # a longer answer is not read
CHAT_WEBHOOK_MAX_ATTEMPTS = env_int("CHAT_WEBHOOK_MAX_ATTEMPTS", 12)  # then the delivery is marked failed
CHAT_WEBHOOK_BACKOFF_SECONDS = env_float("CHAT_WEBHOOK_BACKOFF_SECONDS", 2.0)  # first retry; doubles each time
CHAT_WEBHOOK_BACKOFF_MAX_SECONDS = env_float("CHAT_WEBHOOK_BACKOFF_MAX_SECONDS", 600.0)
CHAT_WEBHOOK_POLL_SECONDS = env_float("CHAT_WEBHOOK_POLL_SECONDS", 2.0)  # how often a worker looks for due retries
CHAT_WEBHOOK_CONCURRENCY = env_int("CHAT_WEBHOOK_CONCURRENCY", 4)  # deliveries in flight per worker
CHAT_WEBHOOK_BOTS_CACHE_SECONDS = env_float("CHAT_WEBHOOK_BOTS_CACHE_SECONDS", 2.0)  # how stale the webhook bot list may be
# --- identities you can carry, and limits every worker shares (issue 15; docs/identity.md) ---
REDIS_PREFIX = env_str("REDIS_PREFIX", "chatsite")  # also names the shared-limit keys in Redis
# With REDIS_URL, how long a socket stays counted for its address after its worker last refreshed
# it (a third of this): the sockets of a crashed worker stop counting within this (1-3600 s).
CHAT_SHARED_SOCKET_TTL = env_float("CHAT_SHARED_SOCKET_TTL", 60.0)
# Key links made (/me/key/: writes rows), opened or confirmed (/me/restore/<secret>/) per address:
# guesses of a 256-bit secret are hopeless anyway; this keeps the writes and lookups bounded.
CHAT_RESTORE_LIMIT = env_str("CHAT_RESTORE_LIMIT", "10/600")
CHAT_IDENTITY_KEY_DAYS = env_int("CHAT_IDENTITY_KEY_DAYS", 365)  # a key link works this long; 0: until replaced

# The admin login, locked per address and per username after failed passwords (django-axes:
# its attempts live in the database every worker shares, so one budget across workers with or
# without Redis, and staff see them in the admin). A lock lifts after ADMIN_LOGIN_LOCK_MINUTES or
# when staff delete it (`manage.py axes_reset`). Bounds: 1-100 failures, 1-1440 minutes.
INSTALLED_APPS.append("axes")
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as django-axes asks
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("ADMIN_LOGIN_LOCK_MINUTES", 15.0) / 60  # hours, as a float
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # each on its own: an address, or a username
AXES_CLIENT_IP_CALLABLE = "rooms.live.guards.request_address"  # the chat's address key: an IPv6 /64
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
