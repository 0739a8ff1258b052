"""The real-time engine: how a room's changes reach every open socket, on any number of workers.

- `doorway`: the one way from the domain to the sockets (publish, tick, join, leave); nothing
  else touches the fan-out or the channel layer.
- `fanout` and `ordering`: each worker's sockets by room, a room's frames framed once per worker
  and written in seq order, the worker's one channel in the layer.
- `writer`: group commit, and `message_send`, the one way a message enters the world.
- `ticker`: the periodic tick and the presence heartbeat.
- `consumer` and `routing`: the thin socket; `guards`, `origins`, `ratelimit`: what a stranger
  may make it do.
- `servers`: the adapters for daphne and uvicorn, the only code that imports them.

docs/architecture.md walks a message through these modules.
"""
