"""The one page-flow client of bench/ and the tests: a person's way into a room, as the server sees it.

GET the home page (the CSRF cookie), POST the form with Origin (create or join a room), keep the
session cookie, open the room page, then open the room's socket with Origin and the cookies
(bench/wsclient.py). HTTP/1.1 on asyncio streams, one connection per request (Connection:
close), TLS when the site is https (unverified: loopback's certificate is self-signed). The
load generator runs thousands of these flows at once; the integration tests run a few.
"""
import asyncio
import re
from urllib.parse import urlencode, urlsplit

from bench import wsclient
from bench.wsclient import UNVERIFIED, parse_head

IDENTITY_COOKIE = "chat_identity"  # the room page sets it: who this browser is (rooms/identities.py)


class FlowError(RuntimeError):
    """The site did not answer a step of the flow as a browser expects."""


class Browser:
    """One browser profile: a cookie jar shared by its pages and sockets, like a real one."""

    def __init__(self, base_url, *, headers=None, origin=None, user_agent="chatsite-client", source=None):
        """`headers` go with every request and socket (e.g. what a TLS proxy adds); `origin` is
        the page's origin (default: the site's own, scheme://host:port of `base_url`); `source`
        the local address to connect from (a loopback address of its own per simulated person,
        so that per-address limits count them apart)."""
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.origin = origin
        self.user_agent = user_agent
        self.cookies = {}
        self.set_cookies = []  # every Set-Cookie line received, attributes included

    @property
    def host(self):
        return urlsplit(self.base_url).hostname

    @property
    def port(self):
        return _site(self.base_url)[2]

    def origin_for(self, base_url=None):
        scheme, host, port = _site(base_url or self.base_url)
        return self.origin or f"{scheme}://{host}:{port}"

    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    async def request(self, method, path, *, form=None, base_url=None, timeout=30):
        """(status, headers, text); a form is posted url-encoded with the page's Origin."""
        scheme, host, port = _site(base_url or self.base_url)
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
                 f"User-Agent: {self.user_agent}"] + [f"{k}: {v}" for k, v in self.headers.items()]
        if self.cookies:
            lines.append(f"Cookie: {self.cookie_header()}")
        if form is not None:
            # Django's CSRF check compares Origin with scheme://Host (no Referer check when an
            # Origin is sent), so a browser's form post carries both.
            origin = self.origin_for(base_url)
            lines += [f"Origin: {origin}", f"Referer: {origin}/",
                      "Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=UNVERIFIED if scheme == "https" else None,
                                    local_addr=(self.source, 0) if self.source else None), timeout)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            status, headers = parse_head(head[:-4])
            length = headers.get("Content-Length")
            if method == "HEAD" or status in (204, 304):
                payload = b""
            elif length is not None:
                payload = await asyncio.wait_for(reader.readexactly(int(length)), timeout)
            else:
                payload = await asyncio.wait_for(reader.read(), timeout)
                if "chunked" in headers.get("Transfer-Encoding", "").lower():
                    payload = _dechunk(payload)
        finally:
            writer.close()
        for value in headers.get_all("Set-Cookie") or []:
            self.set_cookies.append(value)
            name, _, rest = value.partition("=")
            cookie = rest.split(";", 1)[0]
            if cookie and cookie != '""':
                self.cookies[name.strip()] = cookie
            else:  # an empty value is how a server deletes a cookie
                self.cookies.pop(name.strip(), None)
        return status, headers, payload.decode("utf-8", "replace")

    async def enter(self, *, name, action="create", code="", page=True, base_url=None):
        """The home page form, then (with `page`) the room page; returns the room's code."""
        status, _, _ = await self.request("GET", "/", base_url=base_url)
        token = self.cookies.get("csrftoken")
        if status != 200 or not token:
            raise FlowError(f"home page: HTTP {status}, CSRF cookie {'set' if token else 'missing'}")
        form = {"name": name, "code": code, "action": action, "csrfmiddlewaretoken": token}
        status, headers, text = await self.request("POST", "/", form=form, base_url=base_url)
        location = headers.get("Location", "")
        found = re.fullmatch(r"/rooms/([^/]+)/", urlsplit(location).path)
        if status != 302 or not found:
            raise FlowError(f"home form: HTTP {status}, Location {location!r}: {text[:500]}")
        if page:
            status, _, _ = await self.request("GET", urlsplit(location).path, base_url=base_url)
            if status != 200:
                raise FlowError(f"room page: HTTP {status}")
            # (an older chatsite, the base of a side-by-side run, kept the identity in the session)
            if IDENTITY_COOKIE not in self.cookies and "sessionid" not in self.cookies:
                raise FlowError("room page: no identity cookie")
        return found.group(1)

    def socket_headers(self, base_url=None):
        headers = {**self.headers, "Origin": self.origin_for(base_url), "User-Agent": self.user_agent}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        return headers

    async def ws_connect(self, path, on_frame, on_close, *, base_url=None, timeout=30):
        """The site's socket at `path` as a callback client (wsclient.WSClient)."""
        scheme, host, port = _site(base_url or self.base_url)
        return await wsclient.ws_connect(host, port, path, self.socket_headers(base_url), on_frame, on_close,
                                         timeout=timeout, ssl=UNVERIFIED if scheme == "https" else None,
                                         source=self.source)

    async def ws_open(self, path, *, base_url=None, timeout=10):
        """The site's socket at `path` as a queue to await (wsclient.Connection)."""
        scheme, host, port = _site(base_url or self.base_url)
        return await wsclient.connect(f"{'wss' if scheme == 'https' else 'ws'}://{host}:{port}{path}",
                                      headers=self.socket_headers(base_url), timeout=timeout)


def _site(base_url):
    parts = urlsplit(base_url)
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _dechunk(data):
    out, pos = bytearray(), 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            return bytes(out)
        size = int(data[pos:end].split(b";")[0] or b"0", 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2:end + 2 + size]
        pos = end + 2 + size + 2
