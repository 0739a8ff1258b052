"""Bots: programs that take part in one room with a token (HTTP API, WebSocket, webhooks).

`create_bot(room, name, created_by=None)` -> (bot, token): the token is shown once and stored
only as its SHA-256. Modules: models (Bot, BotDelivery), tokens (hashing, comparison), accounts
(create, revoke, authenticate), outbox (webhook rows written with the messages), addresses (which
webhook URLs may be called), delivery (the worker that posts them), api (the HTTP API), sockets
(the WebSocket handshake with a token), admin.
"""
BOT_ID_PREFIX = "bot~"  # a bot identity's public id starts with it; "~" never occurs in a person's


def create_bot(room, name, created_by=None, **options):
    from rooms.bots.accounts import create_bot as create

    return create(room=room, name=name, created_by=created_by, **options)


def revoke_bot(bot):
    from rooms.bots.accounts import revoke_bot as revoke

    return revoke(bot=bot)
