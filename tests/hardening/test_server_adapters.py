"""Upgrades fail loudly: every private name of daphne, Twisted, autobahn and uvicorn that the server
adapters (rooms/live/servers/) rely on, checked against the installed versions.

requirements.txt pins them exactly; when one is upgraded, this test names what went missing
instead of letting a limit (the input size, the send-buffer bound) quietly stop working. What
the limits do on a real server is tested in test_server_limits.py, on both servers.
"""
import inspect
import socket

import pytest
from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol as DaphneProtocol
from twisted.internet import tcp
from twisted.web.http import HTTPChannel
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol as UvicornProtocol


def _sources(cls):
    """The source of a class and its bases, where they are Python."""
    texts = []
    for klass in cls.__mro__:
        try:
            texts.append(inspect.getsource(klass))
        except (OSError, TypeError):
            pass
    return "\n".join(texts)


def _has(cls, name):
    """A method or class attribute, or an instance attribute the class assigns somewhere."""
    return hasattr(cls, name) or f"self.{name} =" in _sources(cls) or f"self.{name}:" in _sources(cls)


# name -> what the adapter does with it (rooms/live/servers/daphne_server.py)
TWISTED_TCP_CONNECTION = {
    "TLS": "write_now: only plain TCP is written to directly",
    "connected": "write_now: skip a closed transport",
    "disconnecting": "write_now: skip a closing transport",
    "_tempDataBuffer": "write_now: write directly only when nothing waits",
    "_tempDataLen": "unsent_bytes: bytes waiting, for the send-buffer bound",
    "dataBuffer": "write_now and unsent_bytes: what waits to be written",
    "offset": "write_now and unsent_bytes: how much of dataBuffer was written",
    "socket": "write_now: socket.send",
    "write": "write_now: buffering what the kernel did not take",
}
AUTOBAHN_PROTOCOL = {
    "onMessageFrameBegin": "the incoming size limit, checked on the frame header",
    "failedByMe": "the incoming size limit: not twice",
    "message_data_total_length": "the incoming size limit: bytes announced so far",
    "_max_message_size_exceeded": "the incoming size limit: close with 1009",
    "_dataReceived": "dataReceived without the per-read debug line",
    "sendData": "writing without the per-frame debug line",
    "send_queue": "sendData: queued writes go the usual way",
    "logOctets": "sendData: octet logging goes the usual way",
    "state": "write_frames: only to open sockets",
    "STATE_OPEN": "write_frames",
    "STATE_CONNECTING": "sendData: traffic statistics",
    "STATE_PROXY_CONNECTING": "sendData: traffic statistics",
    "trafficStats": "sendData and write_frames: traffic statistics",
    "dropConnection": "the send-buffer bound: drop a client that stopped reading",
    "sendClose": "closes with 1012 and 1013, which autobahn's own check refuses",
    "sendCloseFrame": "closes with 1012 and 1013 as they are",
}
TWISTED_HTTP_CHANNEL = {
    "connectionMade": "the header deadline starts with the connection",
    "dataReceived": "the header deadline of a kept-alive connection's next request",
    "allHeadersReceived": "the header deadline ends with the headers",
    "requestDone": "a kept-alive connection waits for its next request",
    "connectionLost": "the header deadline and count end with the connection",
    "callLater": "the header deadline's timer",
    "transport": "closing a connection whose headers are too slow",
}
DAPHNE = {
    (DaphneProtocol, "serverSend"): "the send-buffer bound on ASGI sends",
    (DaphneProtocol, "muted"): "the send-buffer bound: nothing more to a dropped socket",
    (DaphneProtocol, "client_addr"): "the log line of a dropped socket",
    (DaphneProtocol, "client_scheme"): "websocket_scheme: wss behind a TLS proxy",
    (Server, "ws_factory"): "ChatServer: installs the protocol on daphne's factory",
    (Server, "http_factory"): "ChatServer: installs HeaderDeadlineChannel on daphne's HTTP factory",
    (Server, "proxy_forwarded_address_header"): "HeaderDeadlineChannel: no per-address cap behind a proxy",
    (Server, "server_name"): "ChatServer: no Server banner",
    (Server, "listen_success"): "ChatServer: keeps the listening ports, to stop accepting on SIGTERM",
    (Server, "signal_handlers"): "ChatServer: takes SIGTERM (drain) only where daphne takes signals",
    (Server, "create_application"): "ChatServer: offers chatsite.frames, sets the scheme",
    (CommandLineInterface, "server_class"): "main: runs ChatServer",
}


def test_autobahn_still_formats_its_per_connection_debug_lines_with_the_module_pformat():
    """daphne_server makes autobahn's module-level `pformat` lazy: an upgrade that formats those
    lines some other way would bring their cost back silently."""
    import autobahn.websocket.protocol as module

    source = inspect.getsource(module)
    assert "from pprint import pformat" in source and "attrs=pformat(configAttrLog)" in source


UVICORN = {
    "run_asgi": "offers chatsite.frames in the scope",
    "scope": "offers chatsite.frames in the scope",
    "state": "write_frames: only to open sockets",
    "transport": "write_frames and the send-buffer bound",
}
UVICORN_HTTP = {
    "connection_made": "the header deadline starts with the connection",
    "on_message_begin": "the header deadline of a kept-alive connection's next request",
    "on_headers_complete": "the header deadline ends with the headers",
    "connection_lost": "the header deadline and count end with the connection",
    "config": "no per-address cap behind a proxy (config.proxy_headers)",
    "client": "the address a connection is counted under",
    "loop": "the header deadline's timer",
}


@pytest.mark.parametrize("name", sorted(TWISTED_TCP_CONNECTION))
def test_twisted_still_has_what_the_daphne_adapter_uses(name):
    with socket.socket() as sock:
        connection = tcp.Connection(sock, None)
        assert hasattr(connection, name) or _has(tcp.Connection, name), (
            f"Twisted's tcp.Connection has no {name!r} any more ({TWISTED_TCP_CONNECTION[name]})"
        )


@pytest.mark.parametrize("name", sorted(AUTOBAHN_PROTOCOL))
def test_autobahn_still_has_what_the_daphne_adapter_uses(name):
    assert _has(AutobahnProtocol, name), f"autobahn's WebSocketProtocol has no {name!r} any more ({AUTOBAHN_PROTOCOL[name]})"


@pytest.mark.parametrize("owner,name", sorted(DAPHNE, key=lambda pair: (pair[0].__name__, pair[1])),
                         ids=lambda value: value if isinstance(value, str) else value.__name__)
def test_daphne_still_has_what_the_daphne_adapter_uses(owner, name):
    assert _has(owner, name), f"daphne's {owner.__name__} has no {name!r} any more ({DAPHNE[owner, name]})"


def test_daphne_still_takes_a_ready_callable_and_autobahn_still_takes_its_protocol_options():
    assert "ready_callable" in inspect.signature(Server.__init__).parameters
    from autobahn.twisted.websocket import WebSocketServerFactory

    options = inspect.signature(WebSocketServerFactory.setProtocolOptions).parameters
    assert {"failByDrop", "allowNullOrigin"} <= set(options)
    assert {"sync", "chopsize"} <= set(inspect.signature(AutobahnProtocol.sendData).parameters)


@pytest.mark.parametrize("name", sorted(UVICORN))
def test_uvicorn_still_has_what_the_uvicorn_adapter_uses(name):
    assert _has(UvicornProtocol, name), f"uvicorn's websockets protocol has no {name!r} any more ({UVICORN[name]})"


@pytest.mark.parametrize("name", sorted(TWISTED_HTTP_CHANNEL))
def test_twisteds_http_channel_still_has_what_the_header_deadline_uses(name):
    assert _has(HTTPChannel, name), f"Twisted's HTTPChannel has no {name!r} any more ({TWISTED_HTTP_CHANNEL[name]})"


@pytest.mark.parametrize("name", sorted(UVICORN_HTTP))
def test_uvicorns_http_protocol_still_has_what_the_header_deadline_uses(name):
    assert _has(HttpToolsProtocol, name), f"uvicorn's httptools protocol has no {name!r} any more ({UVICORN_HTTP[name]})"


def test_daphnes_http_factory_still_knows_its_server():
    from daphne.http_protocol import HTTPFactory

    assert "self.server = server" in inspect.getsource(HTTPFactory.__init__)


def test_every_private_name_the_daphne_adapter_uses_is_listed_here():
    """A new private name in the adapter must be added above, so an upgrade checks it too."""
    from rooms.live.servers import daphne_server

    used = set(_private_names(inspect.getsource(daphne_server)))
    listed = {name for name in [*TWISTED_TCP_CONNECTION, *AUTOBAHN_PROTOCOL] if name.startswith("_")}
    listed |= {name for _, name in DAPHNE if name.startswith("_")}
    own = {"_has_option", "_stopped_reading", "_deadline", "_awaiting_headers", "_terminate", "_drain",
           "_pace_accepting", "_opening", "_done_opening"}  # the adapter's own helpers and state
    assert used - own <= listed, f"private names used but not checked: {sorted(used - own - listed)}"


def _private_names(source):
    import re

    return re.findall(r"\.(_[a-zA-Z]\w*)", source)
