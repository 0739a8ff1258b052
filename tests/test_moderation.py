"""A room's own moderation over the socket (issue 15): roles, every action and every refusal."""
import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from rooms import moderation, services
from rooms.live import writer
from rooms.models import Ban, Identity, Ignore, Membership, Message, ModerationLog, Report
from tests.conftest import HOST, ORIGIN, Client, identity_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)

NOISE = {"join", "leave", "typing", "rename", "tick"}


@pytest.fixture
def owned(room, alice):
    """A room owned by Alice."""
    moderation.room_created(room=room, identity=alice)
    return room


@pytest.fixture
def carol(db):
    return services.identity_create(name="Carol")


@pytest.fixture
async def sock(transactional_db):
    """sock(room, identity, address) -> Client after its hello (or with its close code if refused)."""
    from chatsite.asgi import application

    opened = []

    async def _open(room, identity, address="10.0.0.1", query=""):
        headers = [HOST, ORIGIN]
        if identity is not None:
            headers.append((b"cookie", identity_cookie_for(identity)))
        path = f"/ws/rooms/{room.code}/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=headers)
        communicator.scope["client"] = [address, 40000]
        connected, _ = await communicator.connect(timeout=3)
        client = Client(communicator)
        opened.append(client)
        first = await client.receive()
        if first["type"] == "hello":
            client.hello = first
        else:
            client.refusal = first
            client.close_code = (await communicator.receive_output(timeout=2))["code"]
            client.closed = True
        return client

    yield _open
    for client in opened:
        try:
            await client.close()
        except (Exception, asyncio.CancelledError):
            pass


async def _next(client, kind, body=None):
    """The next frame of `kind` (a message: with this body), past what else the room says."""
    while True:
        frame = await client.receive()
        if frame["type"] == kind and (body is None or frame.get("body") == body):
            return frame
        assert frame["type"] in NOISE | {"member", "room", "report", "message", "delete"} - {kind} or body, frame


async def _error(client):
    return await _next(client, "error")


async def _closed_with(client):
    """The frame that says why, then the close code."""
    frame = await _next(client, "error")
    output = await client.communicator.receive_output(timeout=2)
    assert output["type"] == "websocket.close"
    client.closed = True
    return frame, output["code"]


async def _promote(owner_socket, member):
    await owner_socket.send({"type": "role", "member": member.public_id, "role": "moderator"})
    return await _next(owner_socket, "member")


# ---- roles ----

def test_the_rooms_maker_owns_it(client):
    response = client.post("/", {"action": "create", "name": "Kim"})
    code = response["Location"].rstrip("/").split("/")[-1]
    kim = Identity.objects.get(name="Kim")
    assert Membership.objects.get(room__code=code, identity=kim).role == "owner"


async def test_hello_carries_roles_the_rooms_settings_and_moderators(sock, owned, alice, bob):
    a = await sock(owned, alice)
    assert a.hello["you"]["role"] == "owner"
    b = await sock(owned, bob, "10.0.0.2")
    assert b.hello["you"]["role"] == "member"
    assert {m["id"]: m["role"] for m in b.hello["members"]} == {alice.public_id: "owner", bob.public_id: "member"}
    assert [m["id"] for m in b.hello["room"]["moderators"]] == [alice.public_id]
    assert b.hello["room"]["topic"] == "" and b.hello["room"]["slowmode"] == 0 and b.hello["room"]["locked"] is False
    assert b.hello["ignored"] == []
    join = await _next(a, "join")
    assert join["member"] == {**a.hello["you"]}  # its own join first, as the owner
    join = await _next(a, "join")
    assert join["member"]["id"] == bob.public_id and join["member"]["role"] == "member"


async def test_the_owner_names_a_moderator_everyone_hears_it_and_a_reconnect_replays_it(sock, owned, alice, bob, carol):
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    seq = b.hello["room"]["seq"]
    changed = await _promote(a, bob)
    assert changed["member"]["id"] == bob.public_id and changed["member"]["role"] == "moderator"
    assert changed["seq"] == seq + 1
    assert await _next(b, "member") == changed
    # A page that reconnects from before the change learns it, from its hello's changes.
    c = await sock(owned, carol, "10.0.0.3", query=f"after={seq}")
    assert changed in c.hello["messages"]
    assert {m["id"]: m["role"] for m in c.hello["members"]}[bob.public_id] == "moderator"
    log = await db(lambda: list(ModerationLog.objects.values_list("action", "detail", "target_name")))()
    assert log == [("role", "moderator", "Bob")]


async def test_only_the_owner_names_moderators(sock, owned, alice, bob, carol):
    await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    await b.send({"type": "role", "member": carol.public_id, "role": "moderator"})
    assert (await _error(b))["code"] == "forbidden"
    await db(Membership.objects.create)(room=owned, identity=bob, role="moderator")
    await b.send({"type": "role", "member": carol.public_id, "role": "moderator"})
    assert (await _error(b))["code"] == "forbidden"
    await b.send({"type": "role", "member": alice.public_id, "role": "member"})
    assert (await _error(b))["code"] == "forbidden"


async def test_a_member_is_refused_every_moderator_action(sock, owned, alice, bob, carol):
    sent, _ = await writer.message_send(room=owned, author=carol, body="hi")
    await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    ban = await db(moderation.ban)(room=owned, actor=moderation.Actor(staff="admin"), member_id=carol.public_id,
                                   seconds=None, reason="x")
    frames = [
        {"type": "role", "member": carol.public_id, "role": "moderator"},
        {"type": "mute", "member": carol.public_id, "seconds": 60},
        {"type": "kick", "member": carol.public_id},
        {"type": "ban", "member": carol.public_id, "seconds": None, "reason": "spam"},
        {"type": "unban", "ban": ban.pk},
        {"type": "bans"},
        {"type": "room", "topic": "mine"},
        {"type": "room", "slowmode": 30},
        {"type": "room", "locked": True},
        {"type": "reports"},
        {"type": "dismiss", "report": 1},
        {"type": "delete", "id": sent["id"]},
    ]
    for frame in frames:
        await b.send(frame)
        assert (await _error(b))["code"] == "forbidden", frame
    assert await db(Ban.objects.count)() == 1
    assert await db(Message.objects.filter(deleted_seq__isnull=True).count)() == 1


async def test_a_moderator_may_not_act_on_the_owner_or_another_moderator(sock, owned, alice, bob, carol):
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    await sock(owned, carol, "10.0.0.3")
    await _promote(a, bob)
    await _promote(a, carol)
    owner_says, _ = await writer.message_send(room=owned, author=alice, body="rules")
    for target in (alice, carol):
        for frame in (
            {"type": "ban", "member": target.public_id, "seconds": 60, "reason": "coup"},
            {"type": "mute", "member": target.public_id, "seconds": 60},
            {"type": "kick", "member": target.public_id},
        ):
            await b.send(frame)
            assert (await _error(b))["code"] == "forbidden", (target.name, frame)
    await b.send({"type": "delete", "id": owner_says["id"]})
    assert (await _error(b))["code"] == "forbidden"
    assert await db(Ban.objects.count)() == 0


async def test_an_unknown_target_is_not_found(sock, owned, alice):
    a = await sock(owned, alice)
    for frame in (
        {"type": "mute", "member": "nobody-at-all", "seconds": 60},
        {"type": "kick", "member": "nobody-at-all"},
        {"type": "ban", "member": "nobody-at-all", "seconds": 60},
        {"type": "role", "member": "nobody-at-all", "role": "moderator"},
        {"type": "unban", "ban": 999},
        {"type": "delete", "id": 999},
        {"type": "report", "id": 999, "reason": "?"},
    ):
        await a.send(frame)
        assert (await _error(a))["code"] == "not_found", frame


# ---- delete, mute ----

async def test_a_moderator_deletes_a_members_message(sock, owned, alice, bob, carol):
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    await _promote(a, bob)
    spam, _ = await writer.message_send(room=owned, author=carol, body="buy now")
    await b.send({"type": "delete", "id": spam["id"]})
    assert (await _next(a, "delete"))["id"] == spam["id"]
    assert await db(lambda: ModerationLog.objects.filter(action="delete", target_name="Carol").exists())()


async def test_a_muted_member_cannot_write_edit_or_react_but_still_reads(sock, owned, alice, bob):
    mine, _ = await writer.message_send(room=owned, author=bob, body="before")
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    await a.send({"type": "mute", "member": bob.public_id, "seconds": 600, "reason": "calm down"})
    muted = await _next(b, "member")
    assert muted["member"]["muted_until"] and muted["member"]["role"] == "member"
    await b.send({"type": "message", "body": "still here?", "client_id": "c1"})
    refused = await _error(b)
    assert refused["code"] == "muted" and refused["client_id"] == "c1"
    assert 590_000 <= refused["retry_after_ms"] <= 600_000 and "seconds" in refused["detail"]
    await b.send({"type": "edit", "id": mine["id"], "body": "changed"})
    assert (await _error(b))["code"] == "muted"
    await b.send({"type": "react", "id": mine["id"], "emoji": "👍"})
    assert (await _error(b))["code"] == "muted"
    await a.send({"type": "message", "body": "you can still read this"})
    assert (await _next(b, "message"))["body"] == "you can still read this"
    assert await db(Message.objects.filter(author=bob).count)() == 1


async def test_a_mute_ends_when_it_expires_and_unmute_ends_it_at_once(sock, owned, alice, bob):
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    await a.send({"type": "mute", "member": bob.public_id, "seconds": 600})
    await _next(b, "member")
    await db(lambda: Membership.objects.filter(identity=bob).update(muted_until=timezone.now() - timedelta(seconds=1)))()
    await b.send({"type": "message", "body": "free again"})
    assert (await _next(b, "message"))["body"] == "free again"
    await a.send({"type": "mute", "member": bob.public_id, "seconds": 600})
    await _next(b, "member")
    await a.send({"type": "mute", "member": bob.public_id, "seconds": 0})
    assert (await _next(b, "member"))["member"]["muted_until"] is None
    await b.send({"type": "message", "body": "unmuted"})
    assert (await _next(b, "message"))["body"] == "unmuted"


# ---- kick, ban ----

async def test_a_kick_says_why_closes_with_4403_and_they_may_come_back(sock, owned, alice, bob):
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    other_tab = await sock(owned, bob, "10.0.0.2")
    await a.send({"type": "kick", "member": bob.public_id, "reason": "cool off"})
    for tab in (b, other_tab):
        frame, code = await _closed_with(tab)
        assert frame["code"] == "kicked" and frame["reason"] == "cool off" and "cool off" in frame["detail"]
        assert code == 4403
    back = await sock(owned, bob, "10.0.0.2")
    assert back.hello is not None


async def test_a_ban_closes_the_members_sockets_and_refuses_them_until_it_ends(sock, owned, alice, bob):
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    await a.send({"type": "ban", "member": bob.public_id, "seconds": 86400, "reason": "spam"})
    frame, code = await _closed_with(b)
    assert frame["code"] == "banned" and frame["reason"] == "spam" and frame["until"] and code == 4403
    listed = await _next(a, "bans")
    assert [(x["name"], x["reason"]) for x in listed["bans"]] == [("Bob", "spam")]
    again = await sock(owned, bob, "10.0.0.9")  # another address: the identity is banned
    assert again.refusal["code"] == "banned" and again.close_code == 4403
    # Only keyed hashes are kept: neither the public id nor the address appears in the row.
    row = await db(Ban.objects.get)()
    assert bob.public_id not in (row.identity_key, row.address_key) and "10.0.0.2" not in row.address_key
    assert len(row.identity_key) == len(row.address_key) == 64
    await db(lambda: Ban.objects.update(expires_at=timezone.now() - timedelta(seconds=1)))()
    assert (await sock(owned, bob, "10.0.0.2")).hello is not None


async def test_a_fresh_cookie_from_a_banned_address_is_refused_but_people_known_before_are_not(sock, owned, alice, bob, carol):
    a = await sock(owned, alice, "10.0.0.2")  # the owner, behind the same address
    await sock(owned, carol, "10.0.0.2")  # someone the room knew before the ban, same address
    await sock(owned, bob, "10.0.0.2")
    await a.send({"type": "ban", "member": bob.public_id, "seconds": None, "reason": "spam"})
    await _next(a, "bans")
    newcomer = await db(services.identity_create)(name="Bobby")  # a cleared cookie: a new identity
    refused = await sock(owned, newcomer, "10.0.0.2")
    assert refused.refusal["code"] == "banned" and refused.close_code == 4403
    no_cookie = await sock(owned, None, "10.0.0.2")
    assert no_cookie.refusal["code"] == "banned"
    assert (await sock(owned, carol, "10.0.0.2")).hello is not None
    assert (await sock(owned, alice, "10.0.0.2")).hello is not None
    assert (await sock(owned, newcomer, "10.0.0.7")).hello is not None  # the address part only


async def test_unban_lets_them_back_and_the_list_shows_it(sock, owned, alice, bob):
    a = await sock(owned, alice)
    await sock(owned, bob, "10.0.0.2")
    await a.send({"type": "ban", "member": bob.public_id, "seconds": None})
    ban_id = (await _next(a, "bans"))["bans"][0]["id"]
    await a.send({"type": "unban", "ban": ban_id})
    assert (await _next(a, "bans"))["bans"] == []
    assert (await sock(owned, bob, "10.0.0.2")).hello is not None
    actions = await db(lambda: list(ModerationLog.objects.order_by("id").values_list("action", flat=True)))()
    assert actions == ["ban", "unban"]


async def test_a_ban_refuses_the_room_page_and_the_join_form(owned, alice, bob, client):
    from tests.conftest import identity_cookie_for as cookie

    await db(moderation.ban)(room=owned, actor=moderation.Actor(identity=alice), member_id=bob.public_id,
                             seconds=None, reason="spam links")
    client.cookies.load(cookie(bob).decode())
    page = await db(client.get)(f"/rooms/{owned.code}/")
    assert page.status_code == 403 and "spam links" in page.content.decode()
    form = await db(client.post)("/", {"action": "join", "code": owned.code})
    assert form.status_code == 403
    body = form.content.decode()
    assert "banned" in body and "spam links" in body and 'name="code"' in body


# ---- slow mode, lock, topic ----

async def test_slow_mode_lets_a_member_send_one_message_per_interval_moderators_exempt(sock, owned, alice, bob):
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    await a.send({"type": "room", "slowmode": 30})
    changed = await _next(b, "room")
    assert changed["slowmode"] == 30 and changed["locked"] is False and changed["seq"] == b.hello["room"]["seq"] + 1
    await b.send({"type": "message", "body": "one"})
    await _next(b, "message")
    await b.send({"type": "message", "body": "two"})
    refused = await _error(b)
    assert refused["code"] == "slow_mode" and 28_000 <= refused["retry_after_ms"] <= 30_000
    for body in ("owner one", "owner two"):  # the owner is exempt
        await a.send({"type": "message", "body": body})
        await _next(a, "message", body)
    await a.send({"type": "room", "slowmode": 0})
    await _next(b, "room")
    await b.send({"type": "message", "body": "two"})
    assert (await _next(b, "message"))["body"] == "two"


async def test_a_locked_room_keeps_out_newcomers_but_not_those_who_were_in_it(sock, owned, alice, bob, carol, client):
    a = await sock(owned, alice)
    b = await sock(owned, None, "10.0.0.5")  # present with a cookie only
    listener = b.hello["you"]
    await a.send({"type": "room", "locked": True})
    assert (await _next(a, "room"))["locked"] is True
    refused = await sock(owned, carol, "10.0.0.3")
    assert refused.refusal["code"] == "room_locked" and refused.close_code == 4403
    kept = await db(Identity.objects.get)(public_id=listener["id"])
    assert (await sock(owned, kept, "10.0.0.5")).hello is not None
    from tests.conftest import identity_cookie_for as cookie

    client.cookies.load(cookie(carol).decode())
    form = await db(client.post)("/", {"action": "join", "code": owned.code})
    assert form.status_code == 403 and "locked" in form.content.decode()
    await a.send({"type": "room", "locked": False})
    await _next(a, "room")
    assert (await sock(owned, carol, "10.0.0.3")).hello is not None


async def test_the_topic_reaches_everyone_and_the_next_hello_and_page(sock, owned, alice, bob, client):
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    await a.send({"type": "room", "topic": "  Friday quiz  "})
    assert (await _next(b, "room"))["topic"] == "Friday quiz"
    assert (await sock(owned, bob, "10.0.0.2")).hello["room"]["topic"] == "Friday quiz"
    page = await db(client.get)(f"/rooms/{owned.code}/")
    assert "Friday quiz" in page.content.decode()


async def test_room_and_member_changes_replay_through_sync(sock, owned, alice, bob):
    a = await sock(owned, alice)
    seq = a.hello["room"]["seq"]
    await a.send({"type": "room", "topic": "t"})
    await _next(a, "room")
    await sock(owned, bob, "10.0.0.2")
    await _promote(a, bob)
    await a.send({"type": "sync", "after": seq})
    synced = await _next(a, "sync")
    assert [(f["type"], f["seq"]) for f in synced["messages"]] == [("room", seq + 1), ("member", seq + 2)]


# ---- reports ----

async def test_a_report_reaches_the_online_moderators_only(sock, owned, alice, bob, carol):
    a = await sock(owned, alice)
    b = await sock(owned, bob, "10.0.0.2")
    c = await sock(owned, carol, "10.0.0.3")
    spam, _ = await writer.message_send(room=owned, author=carol, body="buy now")
    await b.send({"type": "report", "id": spam["id"], "reason": "spam"})
    assert await _next(b, "reported") == {"type": "reported", "id": spam["id"]}
    report = await _next(a, "report")
    assert report["message"]["id"] == spam["id"] and report["reason"] == "spam"
    assert report["reporter"]["id"] == bob.public_id
    await asyncio.sleep(0.2)
    heard = []
    while not await c.receive_nothing(0.1):
        heard.append((await c.receive())["type"])
    assert "report" not in heard
    await a.send({"type": "reports"})
    listed = await _next(a, "reports")
    assert [r["report"] for r in listed["reports"]] == [report["report"]]
    await a.send({"type": "dismiss", "report": report["report"]})
    assert (await _next(a, "reports"))["reports"] == []


async def test_reporting_is_rate_limited_per_identity(sock, owned, alice, bob, settings):
    settings.CHAT_REPORT_LIMIT = "2/600"
    b = await sock(owned, bob, "10.0.0.2")
    spam, _ = await writer.message_send(room=owned, author=alice, body="x")
    for _ in range(2):
        await b.send({"type": "report", "id": spam["id"], "reason": "r"})
        await _next(b, "reported")
    await b.send({"type": "report", "id": spam["id"], "reason": "r"})
    assert (await _error(b))["code"] == "rate_limited"
    assert await db(Report.objects.count)() == 2


async def test_deleting_a_reported_message_clears_its_report(sock, owned, alice, bob):
    a = await sock(owned, alice)
    spam, _ = await writer.message_send(room=owned, author=bob, body="x")
    await db(moderation.report)(room=owned, identity=alice, address="10.0.0.1", message_id=spam["id"], reason="r")
    await a.send({"type": "delete", "id": spam["id"]})
    await _next(a, "delete")
    await a.send({"type": "reports"})
    assert (await _next(a, "reports"))["reports"] == []


# ---- ignore ----

async def test_ignore_is_kept_for_the_identity_and_reaches_its_other_tabs(sock, owned, alice, bob):
    a = await sock(owned, alice)
    other_tab = await sock(owned, alice, "10.0.0.8")
    await sock(owned, bob, "10.0.0.2")
    await a.send({"type": "ignore", "member": bob.public_id, "on": True})
    assert await _next(a, "ignored") == {"type": "ignored", "ignored": [bob.public_id]}
    assert await _next(other_tab, "ignored") == {"type": "ignored", "ignored": [bob.public_id]}
    assert (await sock(owned, alice, "10.0.0.9")).hello["ignored"] == [bob.public_id]
    await a.send({"type": "ignore", "member": bob.public_id, "on": False})
    assert (await _next(a, "ignored"))["ignored"] == []
    assert await db(Ignore.objects.count)() == 0


async def test_an_identity_ignores_at_most_a_bounded_number_of_people(sock, owned, alice, bob, monkeypatch):
    monkeypatch.setattr(moderation, "IGNORE_MAX", 1)
    carol = await db(services.identity_create)(name="Carol")
    a = await sock(owned, alice)
    await a.send({"type": "ignore", "member": bob.public_id, "on": True})
    await _next(a, "ignored")
    await a.send({"type": "ignore", "member": carol.public_id, "on": True})
    assert (await _error(a))["code"] == "invalid_field"
    assert await db(Ignore.objects.count)() == 1


def test_a_storm_into_a_room_with_bans_and_a_lock_costs_a_few_queries_not_a_few_per_socket(
        transactional_db, room, alice, bob, django_assert_max_num_queries):
    from rooms import bans

    moderation.room_created(room=room, identity=alice)
    services.identity_store(identity=bob)
    moderation.ban(room=room, actor=moderation.Actor(identity=alice), member_id=bob.public_id, seconds=None)
    moderation.room_settings(room=room, actor=moderation.Actor(identity=alice), locked=True)
    people = [services.identity_create(name=f"P{n}") for n in range(40)]
    entries = [(room, person, bans.address_key(f"10.1.0.{n}")) for n, person in enumerate(people)]
    entries += [(room, bob, ""), (room, alice, "")]
    with django_assert_max_num_queries(4):
        refusals = moderation.socket_refusals(entries)
    assert [r["code"] for r in refusals[:40]] == ["room_locked"] * 40
    assert refusals[40]["code"] == "banned" and refusals[41] is None
