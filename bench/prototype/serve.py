"""chatsite.serve with the prototype changes, for side-by-side runs (system chatsite-proto).

- bench.prototype.asgi: the session middleware no longer wraps every send;
- autobahn's sendData without the debug line it formats for every frame (hltype/hlval, which
  colour the text through click) even when debug logging is off.
Settings come from DJANGO_SETTINGS_MODULE (bench.prototype.settings: the lean layer).
"""
from autobahn.websocket.protocol import WebSocketProtocol

from chatsite import serve


def send_data(self, data, sync=False, chopsize=None):
    if sync or chopsize or self.send_queue or self.logOctets:
        return WebSocketProtocol.sendData(self, data, sync, chopsize)
    self.transport.write(data)
    if self.state == WebSocketProtocol.STATE_OPEN:
        self.trafficStats.outgoingOctetsWireLevel += len(data)
    elif self.state in (WebSocketProtocol.STATE_CONNECTING, WebSocketProtocol.STATE_PROXY_CONNECTING):
        self.trafficStats.preopenOutgoingOctetsWireLevel += len(data)


serve.LimitedWebSocketProtocol.sendData = send_data
serve.APPLICATION = "bench.prototype.asgi:application"

if __name__ == "__main__":
    serve.main()
