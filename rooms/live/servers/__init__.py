"""The server adapters: daphne (`python -m chatsite.serve`) and uvicorn (`python -m chatsite.serve_uvicorn`).

The only code that imports daphne, autobahn, Twisted or uvicorn. Each adds what the plain server
cannot express (an input limit on the frame header, a send-buffer bound, one framing per
broadcast through the `chatsite.frames` ASGI extension); tests/hardening/test_server_adapters.py
names every private attribute of those libraries that the adapters rely on.
"""
