"""Cross-port WebSocket hijacking, tried the way it happened: a page served from another port of
the same host opens the room socket in the visitor's browser, which sends the visitor's cookie
(another port is the same *site* to SameSite cookies). The server must not say hello to it."""
import http.server
import threading

import pytest
from playwright.sync_api import expect

from bench import ports

pytestmark = pytest.mark.browser

# Opens the room socket and records what comes back; run on the attacker's page and, as the
# control that shows the script works, on the chat's own page.
OPEN_SOCKET = """
(url) => new Promise((resolve) => {
  const frames = [];
  const socket = new WebSocket(url);
  socket.onmessage = (event) => {
    frames.push(JSON.parse(event.data));
    if (frames.length === 1) socket.send(JSON.stringify({type: "message", body: "said by another site", client_id: "hijack-1"}));
  };
  socket.onclose = () => resolve(frames);
  setTimeout(() => { socket.close(); resolve(frames); }, 3000);
})
"""


class AttackerSite:
    """A plain page on another loopback port: the other app, dev server or sidecar of the attack."""

    def __init__(self):
        handler = type("Handler", (http.server.BaseHTTPRequestHandler,), {
            "do_GET": _serve_blank,
            "log_message": lambda *args: None,
        })
        self.port = ports.free_port(ports.BROWSER)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _serve_blank(handler):
    body = b"<!doctype html><title>another app</title><p>nothing to see"
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def attacker_site():
    site = AttackerSite()
    yield site
    site.stop()


def test_a_page_on_another_port_cannot_open_the_room_socket_with_the_visitors_cookie(person, server, attacker_site):
    alice, bob = person("Alice"), person("Bob")
    code = bob.create_room()
    alice.join_by_code(code)
    socket_url = f"ws://127.0.0.1:{server.port}/ws/rooms/{code}/"

    # The control: the same script on the chat's own page is greeted as Alice.
    own = alice.page.evaluate(OPEN_SOCKET, socket_url)
    assert own[0]["type"] == "hello" and own[0]["you"]["name"] == "Alice"
    alice.expect_message("said by another site")  # the script works: it spoke as Alice

    attack = alice.new_tab()
    attack.goto(attacker_site.url)
    frames = attack.evaluate(OPEN_SOCKET.replace("hijack-1", "hijack-2"), socket_url)
    assert frames == []  # no hello, nothing at all: the handshake was refused
    bob.page.wait_for_timeout(500)
    expect(bob.messages().filter(has_text="said by another site")).to_have_count(1)  # only the control's
