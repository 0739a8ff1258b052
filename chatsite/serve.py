"""`python -m chatsite.serve [daphne options]`: chatsite on daphne, the production server.

The adapter lives in rooms/live/servers/daphne_server.py; this name stays for operators.
"""
from rooms.live.servers.daphne_server import main

if __name__ == "__main__":
    main()
