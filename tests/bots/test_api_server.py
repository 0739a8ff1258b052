"""The bot API with a real HTTP client against a real server: idempotent retry (201 then 200),
another room's token 403, a revoked token 401, 429 with Retry-After past the limits, reading
with ?after= (the changes `sync` gives), the room, the OpenAPI document and its page."""
import pytest

from bench import ports
from tests.bots.server import BotServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = BotServer(tmp_path_factory.mktemp("bots-api"), CHAT_LEAVE_GRACE="0.1", CHAT_BOT_RATE_LIMIT="5/60",
                       CHAT_API_ADDRESS_LIMIT="off").start()
    yield server
    server.stop()


@pytest.fixture
def room(server):
    code = server.new_room()
    token, _ = server.create_bot(code, "Helper")
    return code, token


def test_post_then_retry_with_the_same_idempotency_key(server, room):
    code, token = room
    status, _, first = server.request("POST", f"/api/rooms/{code}/messages", token, {"body": "hello"},
                                      {"Idempotency-Key": "k-1"})
    assert status == 201, first
    assert first["type"] == "message" and first["body"] == "hello" and first["client_id"] == "k-1"
    assert first["author"]["bot"] is True and first["author"]["name"] == "Helper"
    status, _, again = server.request("POST", f"/api/rooms/{code}/messages", token, {"body": "hello"},
                                      {"Idempotency-Key": "k-1"})
    assert status == 200 and again == first
    status, _, changes = server.request("GET", f"/api/rooms/{code}/messages?after=0", token)
    assert status == 200 and [m["id"] for m in changes["messages"]] == [first["id"]]


def test_read_after_a_seq_and_reply(server, room):
    code, token = room
    _, _, one = server.request("POST", f"/api/rooms/{code}/messages", token, {"body": "one"})
    status, _, two = server.request("POST", f"/api/rooms/{code}/messages", token,
                                    {"body": "two", "reply_to": one["id"]})
    assert status == 201 and two["reply_to"]["id"] == one["id"]
    status, _, changes = server.request("GET", f"/api/rooms/{code}/messages?after={one['seq']}", token)
    assert status == 200
    assert changes == {"type": "sync", "seq": two["seq"], "messages": [two], "has_more": False}
    status, _, page = server.request("GET", f"/api/rooms/{code}/messages?after=0&limit=1", token)
    assert page["messages"] == [one] and page["has_more"] is True and page["seq"] == one["seq"]
    status, _, info = server.request("GET", f"/api/rooms/{code}", token)
    assert status == 200 and info == {"code": code, "seq": two["seq"], "topic": None, "members": []}


def test_errors_are_the_protocols(server, room):
    code, token = room
    status, _, error = server.request("POST", f"/api/rooms/{code}/messages", token, {"body": "  "})
    assert (status, error["code"]) == (400, "empty_message")
    status, _, error = server.request("POST", f"/api/rooms/{code}/messages", token, {"body": "x" * 3000})
    assert (status, error["code"]) == (400, "message_too_long")
    status, _, error = server.request("POST", f"/api/rooms/{code}/messages", token, b"{not json")
    assert (status, error["code"]) == (400, "bad_json")
    status, _, error = server.request("POST", f"/api/rooms/{code}/messages", token, {"body": "x", "reply_to": 999999})
    assert (status, error["code"]) == (400, "invalid_field")


def test_token_of_another_room_is_forbidden(server, room):
    _, token = room
    other = server.new_room()
    for method, path in [("POST", f"/api/rooms/{other}/messages"), ("GET", f"/api/rooms/{other}/messages"),
                         ("GET", f"/api/rooms/{other}")]:
        status, _, error = server.request(method, path, token, {"body": "hi"} if method == "POST" else None)
        assert (status, error["code"]) == (403, "forbidden"), (method, path)


def test_revoked_or_missing_token_is_unauthorized(server, room):
    code, token = room
    assert server.request("GET", f"/api/rooms/{code}", token)[0] == 200
    server.revoke(token)
    status, _, error = server.request("GET", f"/api/rooms/{code}", token)
    assert (status, error["code"]) == (401, "unauthorized")
    status, _, error = server.request("GET", f"/api/rooms/{code}")
    assert (status, error["code"]) == (401, "unauthorized")


def test_rate_limited_per_token_with_retry_after(server, room):
    code, token = room
    statuses = [server.request("GET", f"/api/rooms/{code}", token)[0] for _ in range(5)]
    assert statuses == [200] * 5
    status, headers, error = server.request("POST", f"/api/rooms/{code}/messages", token, {"body": "one more"})
    assert (status, error["code"]) == (429, "rate_limited")
    assert 1 <= int(headers["Retry-After"]) <= 60
    # Another bot's token is counted on its own.
    other_token, _ = server.create_bot(code, "Other")
    assert server.request("GET", f"/api/rooms/{code}", other_token)[0] == 200


def test_a_bot_searches_its_room_and_finds_its_words_newest_first(server, room):
    code, token = room
    for body in ("the kettle is on", "nothing to see", "kettle again"):
        assert server.request("POST", f"/api/rooms/{code}/messages", token, {"body": body})[0] == 201
    status, _, found = server.request("GET", f"/api/rooms/{code}/search?q=kettle", token)
    assert status == 200
    assert [hit["message"]["body"] for hit in found["hits"]] == ["kettle again", "the kettle is on"]
    assert "<mark>kettle</mark>" in found["hits"][0]["excerpt_html"]
    status, _, error = server.request("GET", f"/api/rooms/{code}/search?q=kettle&limit=x", token)
    assert (status, error["code"]) == (400, "invalid_field")


def test_openapi_document_and_docs_page(server):
    status, _, document = server.request("GET", "/api/openapi.json")
    assert status == 200
    assert {"/api/rooms/{code}/messages", "/api/rooms/{code}"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["BotToken"]["scheme"] == "bearer"
    status, headers, page = server.request("GET", "/api/docs")
    assert status == 200 and b"swagger-ui" in page
    assert "script-src 'self'" in headers["Content-Security-Policy"]  # the page works under the site's CSP


def test_address_limit_counts_requests_without_a_valid_token(tmp_path_factory):
    server = BotServer(tmp_path_factory.mktemp("bots-api-address"), CHAT_API_ADDRESS_LIMIT="3/60").start()
    try:
        code = server.new_room()
        statuses = [server.request("GET", f"/api/rooms/{code}", "cb_guess-{n}")[0] for n in range(4)]
        assert statuses == [401, 401, 401, 429]
    finally:
        server.stop()


assert ports  # the servers take their ports from bench/ports.py (HARDENING range)
