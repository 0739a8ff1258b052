"""`python -m chatsite.serve_uvicorn [--host H] [--port P] [--proxy-headers]`: chatsite on uvicorn.

The adapter lives in rooms/live/servers/uvicorn_server.py; this name stays for operators.
"""
from rooms.live.servers.uvicorn_server import main

if __name__ == "__main__":
    main()
