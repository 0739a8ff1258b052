"""Site staff moderate any room from the admin (issue 15), and open pages hear it live."""
import pytest
from channels.db import database_sync_to_async as db
from django.test import Client

from rooms import moderation, services
from rooms.models import Ban, Membership, ModerationLog, Report, Room
from tests.conftest import send_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_superuser("sam", "sam@example.org", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_staff_name_a_moderator_and_ban_a_member_from_the_membership_list(staff, room, alice, bob):
    moderation.room_created(room=room, identity=alice)
    Membership.objects.create(room=room, identity=bob)
    bob_row = Membership.objects.get(identity=bob)
    staff.post("/admin/rooms/membership/", {"action": "make_moderator", "_selected_action": [bob_row.pk]})
    assert Membership.objects.get(identity=bob).role == "moderator"
    staff.post("/admin/rooms/membership/", {"action": "ban_for_a_day", "_selected_action": [bob_row.pk]})
    assert Ban.objects.filter(room=room, name="Bob").exists()
    # The owner is beyond the staff's actions too, and the page says why.
    owner_row = Membership.objects.get(identity=alice)
    page = staff.post("/admin/rooms/membership/", {"action": "ban_for_a_day", "_selected_action": [owner_row.pk]},
                      follow=True).content.decode()
    assert "owner" in page and not Ban.objects.filter(name="Alice").exists()
    assert list(ModerationLog.objects.order_by("id").values_list("staff", "action")) == [("sam", "role"), ("sam", "ban")]


def test_staff_set_the_topic_and_lock_from_the_rooms_page(staff, room):
    page = staff.get(f"/admin/rooms/room/{room.pk}/change/")
    assert page.status_code == 200
    staff.post(f"/admin/rooms/room/{room.pk}/change/", {"topic": "Be kind", "slowmode": "30", "locked": "on",
                                                        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    row = Room.objects.get(pk=room.pk)
    assert (row.topic, row.slowmode, row.locked) == ("Be kind", 30, True)
    assert ModerationLog.objects.get().frame["topic"] == "Be kind"


async def test_a_report_deleted_from_the_admin_disappears_from_open_pages(staff, room, alice, bob, connect):
    sent, _ = await db(send_message)(room=room, author=bob, body="spam")
    report = await db(moderation.report)(room=room, identity=alice, address="10.0.0.1", message_id=sent["id"], reason="spam")
    page = await connect(room.code, alice)
    listing = (await db(staff.get)("/admin/rooms/report/", {"open": "yes"})).content.decode()
    assert "spam" in listing and "Bob" in listing
    await db(staff.post)("/admin/rooms/report/", {"action": "delete_messages", "_selected_action": [report.pk]})
    assert (await page.receive_type("delete"))["id"] == sent["id"]
    assert await db(lambda: Report.objects.get().resolved_at is not None)()


def test_the_moderation_log_and_bans_list_show_in_the_admin(staff, room, alice, bob):
    moderation.room_created(room=room, identity=alice)
    services.identity_store(identity=bob)
    moderation.ban(room=room, actor=moderation.Actor(identity=alice), member_id=bob.public_id, seconds=None, reason="rude")
    assert "rude" in staff.get("/admin/rooms/ban/").content.decode()
    log = staff.get("/admin/rooms/moderationlog/").content.decode()
    assert "Alice" in log and "Bob" in log and "rude" in log
    ban = Ban.objects.get()
    staff.post(f"/admin/rooms/ban/{ban.pk}/delete/", {"post": "yes"})
    assert not Ban.objects.exists() and ModerationLog.objects.filter(action="unban").exists()
