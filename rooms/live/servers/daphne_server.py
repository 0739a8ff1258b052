"""Run daphne with chatsite's WebSocket limits: `python -m chatsite.serve [daphne options]`.

Takes every daphne option (-b, -p, --proxy-headers, ...) and serves chatsite.asgi:application.
Plain `daphne` cannot express two limits that chatsite needs:

- Input size. Autobahn applies its message-size limit to outgoing frames too, and a full `sync`
  frame can be a few megabytes, so that limit cannot be 64 KiB. Here autobahn's frame limit is
  CHAT_FRAME_MAX_BYTES and this protocol adds the same limit for incoming messages only. Both
  are checked on the frame header, before the payload is read: a client announcing 100 MB is
  closed with 1009 without the server holding more than one network read of it.
- One framing per broadcast. The server gives each socket the ASGI extension `chatsite.frames`
  (this protocol itself): rooms/live/fanout.py frames a room's texts once with `prepare_frames` and
  writes the same bytes to every socket of the room with `write_frames`, the way
  `websockets.broadcast` does, instead of an ASGI send and an autobahn framing per recipient.
  Compression is never negotiated here, so the bytes are the same for every socket.
- A client that stops reading. Twisted buffers whatever the server writes without bound; this
  protocol drops a socket once more than CHAT_SEND_BUFFER_BYTES beyond the largest frame it
  was sent (at most a few MB: a full sync) wait unsent for it, so a stalled tab costs bounded
  memory and the rest of its room carries on.
"""
import asyncio
import logging
import os
import pprint
import signal
import sys
from functools import partial

import autobahn.websocket.protocol as autobahn_protocol
from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import tcp
from twisted.internet.interfaces import ISSLTransport
from twisted.web.http import HTTPChannel

from rooms.live.servers import headers
from rooms.live.servers.frames import EXTENSION as FRAMES_EXTENSION
from rooms.live.servers.frames import text_frames

log = logging.getLogger("rooms.guards")

APPLICATION = "chatsite.asgi:application"
SERVER_CLOSE_CODES = {1012, 1013}  # service restart, try again later (RFC 6455 registry)


def write_now(transport, data):
    """Write to a plain TCP transport at once if nothing waits in its buffer, else buffer as usual.

    Twisted's `write` only buffers, registers the socket with the loop for writing, writes on the
    next round and unregisters it: two epoll_ctl calls and a loop round per socket per frame,
    12 % of the server's CPU at 10,000 deliveries/s. What the kernel does not take at once (or
    a send error, which Twisted then reports as a lost connection) goes to `write`, so order
    and the send-buffer bound stay Twisted's. This runs once per socket per broadcast: it calls
    `socket.send` itself rather than through `writeSomeData` and `untilConcludes`.
    """
    if (
        isinstance(transport, tcp.Connection)
        and not transport.TLS
        and transport.connected
        and not transport.disconnecting
        and not transport._tempDataBuffer
        and transport.offset == len(transport.dataBuffer)
    ):
        try:
            sent = transport.socket.send(data)
        except OSError:
            sent = 0
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)


def unsent_bytes(transport):
    """Bytes Twisted holds for a TCP transport (its FileDescriptor buffers); 0 if unknown.

    With TLS in daphne (-e ssl:...) the TCP transport sits under the TLS one."""
    while transport is not None and not hasattr(transport, "dataBuffer"):
        transport = getattr(transport, "transport", None)
    if transport is None:
        return 0
    return len(transport.dataBuffer) - transport.offset + getattr(transport, "_tempDataLen", 0)


class _LazyPformat:
    """pprint.pformat(obj), computed only if a log line is actually written."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __str__(self):
        return pprint.pformat(self.obj)

    def __format__(self, spec):
        return format(str(self), spec)


# autobahn formats its configuration and the transport's details with pformat for two debug lines
# on every new connection, logged or not: 7 % of a restart storm's server samples (py-spy). Made
# lazy, the debug lines are unchanged when autobahn's debug logging is on.
autobahn_protocol.pformat = _LazyPformat


class LimitedWebSocketProtocol(WebSocketProtocol):
    """daphne's WebSocket protocol with an incoming-only size limit and a send-buffer bound."""

    max_incoming_bytes = 0
    send_buffer_bytes = 0
    largest_frame = 0

    def onMessageFrameBegin(self, length):
        super().onMessageFrameBegin(length)
        if not self.failedByMe and 0 < self.max_incoming_bytes < self.message_data_total_length:
            self._max_message_size_exceeded(
                self.message_data_total_length,
                self.max_incoming_bytes,
                f"message of {self.message_data_total_length} bytes over the limit of {self.max_incoming_bytes}",
            )

    def dataReceived(self, data):
        # As in sendData: skip autobahn's per-read debug line (hltype, hlval) and go straight on.
        self._dataReceived(data)

    def sendData(self, data, sync=False, chopsize=None):
        # autobahn formats a debug line for every frame (hltype and hlval colour it through
        # click) even with debug logging off: 5 % of the CPU at 2,000 deliveries a second.
        if sync or chopsize or self.send_queue or self.logOctets:
            return super().sendData(data, sync, chopsize)
        write_now(self.transport, data)
        if self.state == self.STATE_OPEN:
            self.trafficStats.outgoingOctetsWireLevel += len(data)
        elif self.state in (self.STATE_CONNECTING, self.STATE_PROXY_CONNECTING):
            self.trafficStats.preopenOutgoingOctetsWireLevel += len(data)

    def sendClose(self, code=None, reason=None):
        # autobahn lets a server close only with 1000 or 3000-4999, but 1012 (service restart)
        # and 1013 (try again later) are the registered codes a client should see when a
        # worker restarts or is too busy; sendCloseFrame sends them as they are.
        if code in SERVER_CLOSE_CODES:
            self.sendCloseFrame(code=code, reasonUtf8=reason.encode() if reason else None, isReply=False)
            return
        super().sendClose(code, reason)

    def serverSend(self, content, binary=False):
        if self._stopped_reading(len(content)):
            return
        super().serverSend(content, binary)

    prepare_frames = staticmethod(text_frames)

    def write_frames(self, data):
        """Write bytes from prepare_frames, if the socket is open and its client keeps reading."""
        if self.state != self.STATE_OPEN or self._stopped_reading(len(data)):
            return
        write_now(self.transport, data)
        self.trafficStats.outgoingOctetsWireLevel += len(data)

    def _stopped_reading(self, size):
        """Drop the socket (and say True) if its client left too much unread."""
        # The bound sits on top of the largest frame this socket was sent: a slow link still
        # draining a big hello or sync is not a client that stopped reading.
        unsent = unsent_bytes(self.transport)
        if self.send_buffer_bytes > 0 and unsent > self.send_buffer_bytes + self.largest_frame:
            # The client cannot take a close frame either: drop the TCP connection. daphne then
            # tells the application `websocket.disconnect`, and the consumer cleans up as usual.
            log.warning("socket dropped: %s stopped reading (%d bytes unsent)", self.client_addr, unsent)
            self.muted = True
            self.dropConnection(abort=True)
            return True
        if size > self.largest_frame:
            self.largest_frame = size
        return False


class HeaderDeadlineChannel(HTTPChannel):
    """Twisted's HTTP/1.1 channel, closing a connection whose request headers do not come in time
    (rooms/live/servers/headers.py). Its idle timeout restarts on every byte, which is what a
    slowloris client relies on; this deadline runs from a request's first byte to its last header."""

    _deadline = None
    _awaiting_headers = True
    _opening = False
    opening = 0  # connections of this process that have not sent their first request's headers yet
    on_opening = staticmethod(lambda: None)  # ChatServer's accept pacing, told of each new connection

    def connectionMade(self):
        super().connectionMade()
        HeaderDeadlineChannel.opening += 1
        self._opening = True
        HeaderDeadlineChannel.on_opening()
        # Behind a proxy (--proxy-headers) every connection comes from the proxy, which buffers
        # whole request headers before it passes them on: the deadline holds, the cap per
        # address is the proxy's (nginx's limit_conn).
        address = None
        if not getattr(self.factory.server, "proxy_forwarded_address_header", None):
            address = headers.key(getattr(self.transport.getPeer(), "host", None))
        self._deadline = headers.Deadline(address, self.callLater, self.transport.abortConnection)
        self._deadline.start()

    def dataReceived(self, data):
        if self._awaiting_headers and self._deadline is not None and not self._deadline.running:
            self._deadline.start()  # the first byte of the next request on a kept-alive connection
        super().dataReceived(data)

    def allHeadersReceived(self):
        self._deadline.stop()
        self._awaiting_headers = False
        self._done_opening()
        super().allHeadersReceived()

    def requestDone(self, request):
        super().requestDone(request)
        self._awaiting_headers = True

    def connectionLost(self, reason):
        if self._deadline is not None:
            self._deadline.stop()
        self._done_opening()
        super().connectionLost(reason)

    def _done_opening(self):
        if self._opening:
            self._opening = False
            HeaderDeadlineChannel.opening -= 1


class ChatServer(Server):
    """daphne's Server, with LimitedWebSocketProtocol and HeaderDeadlineChannel installed once
    its factories exist, and no `Server` header naming the software."""

    def __init__(self, *args, max_incoming_bytes, send_buffer_bytes, **kwargs):
        kwargs.setdefault("server_name", "")  # no product or version banner on pages or handshakes
        # Twisted listens with a backlog of 50: a restart's thousands of reconnects overflowed it
        # and their SYNs were dropped (retried by the kernel after 1, 3, 7 s).
        kwargs["endpoints"] = [_with_backlog(endpoint) for endpoint in kwargs.get("endpoints", [])]
        protocol = type(
            "ChatWebSocketProtocol",
            (LimitedWebSocketProtocol,),
            {"max_incoming_bytes": max_incoming_bytes, "send_buffer_bytes": send_buffer_bytes},
        )

        self.listening = []  # the ports, to stop accepting when told to stop
        self.pacing = None  # the timer that looks for the moment to accept again
        self.draining = False
        self.accepting = True

        def install():
            # HTTP/1.1 only (no HTTP/2 negotiation wrapper): chatsite is served over HTTP/1.1,
            # behind nginx or on its own, and the channel is where the header deadline lives.
            self.http_factory.protocol = HeaderDeadlineChannel
            self.ws_factory.protocol = protocol
            if self.signal_handlers:
                # After the reactor's own handlers are in place, so that this one wins.
                _reactor().callWhenRunning(signal.signal, signal.SIGTERM, self._terminate)
            HeaderDeadlineChannel.on_opening = self._pace_accepting
            # Autobahn drops the TCP connection on a protocol error by default; a close frame
            # (1009 too big, 1007 bad UTF-8) tells the client why. setProtocolOptions also resets
            # allowNullOrigin to False unless it is passed again: autobahn would then answer an
            # `Origin: null` handshake itself with a 400, where the app's own check answers 403.
            self.ws_factory.setProtocolOptions(failByDrop=False, allowNullOrigin=True)

        super().__init__(*args, ready_callable=install, **kwargs)

    def _pace_accepting(self):
        """Stop taking new connections off the listen queue while CHAT_HANDSHAKES_AT_ONCE are
        being opened (from their first byte to their hello), and take them again below half.
        Checked as each connection comes in; only while the queue is shut does a timer look
        (every 20 ms) for the moment to open it again, so an idle server spends nothing on it.
        Twisted takes the connections already queued in one wake-up as a burst, so a worker can
        go past the limit by that burst; the next ones wait.

        A restart's thousands of reconnects then wait in the kernel's listen queue
        (CHAT_LISTEN_BACKLOG) instead of in this process, where each one's handshake work would
        queue in front of the messages of the people already here: the room keeps talking."""
        from django.conf import settings

        from rooms.live import arrivals

        if self.draining:
            return
        busy = HeaderDeadlineChannel.opening + arrivals.admission().in_flight
        limit = settings.CHAT_HANDSHAKES_AT_ONCE
        if limit <= 0:
            return
        if self.accepting and busy >= limit:
            self.accepting = False
            for port in self.listening:
                port.stopReading()
            if self.pacing is None:
                from twisted.internet.task import LoopingCall

                self.pacing = LoopingCall(self._pace_accepting)
            if not self.pacing.running:
                self.pacing.start(0.02, now=False)
        elif not self.accepting and busy < limit // 2:
            self.accepting = True
            for port in self.listening:
                port.startReading()
            if self.pacing is not None and self.pacing.running:
                self.pacing.stop()

    def listen_success(self, port):
        self.listening.append(port)
        return super().listen_success(port)

    def _terminate(self, signum, frame):
        """SIGTERM: drain (rooms/live/drain.py), then stop; a second SIGTERM stops at once."""
        reactor = _reactor()
        if self.draining:
            reactor.callFromThread(reactor.stop)
            return
        self.draining = True
        reactor.callFromThread(self._drain)

    def _drain(self):
        from rooms.live import drain

        for port in self.listening:
            port.stopListening()  # a successor (systemd's restart) can take the port meanwhile
        done = asyncio.get_running_loop().create_task(drain.drain())
        done.add_done_callback(lambda _: _reactor().stop())

    def create_application(self, protocol, scope):
        if isinstance(protocol, LimitedWebSocketProtocol):
            scope.setdefault("extensions", {})[FRAMES_EXTENSION] = protocol
            scope["scheme"] = websocket_scheme(protocol)
        return super().create_application(protocol, scope)


def _reactor():
    # Imported late: daphne installs Twisted's asyncio reactor when it is imported, and the
    # reactor module must not be imported before that.
    from twisted.internet import reactor

    return reactor


def _with_backlog(endpoint):
    from django.conf import settings

    if endpoint.startswith(("tcp:", "tcp6:", "ssl:")) and "backlog=" not in endpoint:
        return f"{endpoint}:backlog={settings.CHAT_LISTEN_BACKLOG}"
    return endpoint


def websocket_scheme(protocol):
    """`wss` for a socket that reached us over TLS, or through a proxy that says so, else `ws`.

    daphne puts no scheme in a WebSocket scope (ASGI then means `ws`), even when --proxy-headers
    read X-Forwarded-Proto: https, which it does for HTTP. The Origin check (rooms/origins.py)
    compares the page's origin with the handshake's, so the scheme must be the browser's.
    """
    if ISSLTransport.providedBy(protocol.transport):
        return "wss"
    return "wss" if getattr(protocol, "client_scheme", None) in ("https", "wss") else "ws"


def _has_option(argv, name):
    return any(arg == name or arg.startswith(name + "=") for arg in argv)


def main(argv=None):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    from django.conf import settings

    argv = list(sys.argv[1:] if argv is None else argv)
    if not _has_option(argv, "--websocket-max-frame-size"):
        argv += ["--websocket-max-frame-size", str(settings.CHAT_FRAME_MAX_BYTES)]
    if not _has_option(argv, "--websocket-max-message-size"):
        # Incoming messages are held to CHAT_FRAME_MAX_BYTES by LimitedWebSocketProtocol; this
        # bound (it counts outgoing frames too, so it sits above the largest sync frame) stays
        # as a backstop should an upgrade of autobahn stop calling its hook.
        argv += ["--websocket-max-message-size", str(settings.DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE)]

    if not _has_option(argv, "--server-name"):
        argv += ["--no-server-name"]

    cli = CommandLineInterface()
    cli.server_class = chat_server()
    cli.run(argv + [APPLICATION])


def chat_server():
    """ChatServer with chatsite's limits, as daphne's CLI and runserver call a server class."""
    from django.conf import settings

    return partial(
        ChatServer,
        max_incoming_bytes=settings.CHAT_FRAME_MAX_BYTES,
        send_buffer_bytes=settings.CHAT_SEND_BUFFER_BYTES,
    )


if __name__ == "__main__":
    main()
