"""A tap on a page's room sockets: cut the line, drop chosen frames, or slip a frame in.

Built on Playwright's WebSocket routing, so the page's own code runs unchanged; only what
travels between the page and the real server is altered.
"""
import json
import re

ROOM_SOCKET = re.compile(r"/ws/rooms/")
CUT_CODE = 4000  # any close code the client treats as a dropped connection


class SocketTap:
    def __init__(self, page):
        self.down = False
        self.urls = []  # every socket URL the page opened, in order
        self.drop_to_page = lambda frame: False
        self.drop_to_server = lambda frame: False
        self._lines = []  # (page side, server side) of each open socket
        page.route_web_socket(ROOM_SOCKET, self._route)

    def _route(self, ws):
        self.urls.append(ws.url)
        if self.down:
            ws.close(code=CUT_CODE, reason="line cut by the test")
            return
        server = ws.connect_to_server()
        ws.on_message(lambda text: None if self.drop_to_server(json.loads(text)) else server.send(text))
        server.on_message(lambda text: None if self.drop_to_page(json.loads(text)) else ws.send(text))
        self._lines.append((ws, server))

    def cut(self):
        """Close every open socket and refuse new ones until restore()."""
        self.down = True
        for ws, server in self._lines:
            ws.close(code=CUT_CODE, reason="line cut by the test")
            server.close()
        self._lines.clear()

    def restore(self):
        self.down = False

    def send_to_page(self, frame):
        """Slip a frame into the newest open socket, as if the server had sent it."""
        self._lines[-1][0].send(json.dumps(frame))
