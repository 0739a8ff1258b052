"""HTTP: security headers and CSP, CSRF, escaping of user text, room-code guessing, deploy check."""
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from rooms import services
from rooms.models import Room
from tests.conftest import send_message

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
EVIL_NAME = "<img src=x onerror=alert(1)>"
EVIL_BODY = '<script>alert("body")</script> see http://example.org/"onmouseover="alert(2) javascript:alert(3)'


@pytest.fixture
def moderator(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("mod", "mod@example.org", "pw"))
    return client


def evil_room():
    room = services.room_create()
    author = services.identity_create(name=EVIL_NAME)
    send_message(room=room, author=author, body=EVIL_BODY)
    return room


@pytest.mark.parametrize("path", ["/", "/rooms/NOPE/", "/admin/login/"])
def test_pages_carry_the_strict_policy_and_the_standard_headers(client, path):
    response = client.get(path)
    assert response["Content-Security-Policy"] == CSP
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_the_room_page_carries_the_policy(client):
    assert client.get(f"/rooms/{services.room_create().code}/")["Content-Security-Policy"] == CSP


def test_the_avatar_keeps_its_own_narrower_policy(client):
    identity = services.identity_create()
    response = client.get(f"/avatars/{identity.public_id}.svg")
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_no_template_needs_inline_script_or_style():
    # The policy forbids both, so any that crept in would silently stop working.
    templates = list((ROOT / "templates").rglob("*.html"))
    assert templates
    for template in templates:
        text = template.read_text()
        for script in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in script, f"{template.name}: inline {script}"
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", text), template.name


def test_browser_code_never_parses_user_text_as_html():
    for script in (ROOT / "static").rglob("*.js"):
        text = script.read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function", text), script.name


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_names_and_messages_are_escaped_on_the_room_page(client):
    page = client.get(f"/rooms/{evil_room().code}/").content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert 'onmouseover="alert' not in page and 'href="javascript' not in page
    assert "&lt;script&gt;alert(&quot;body&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_names_and_messages_are_escaped_in_the_admin(moderator):
    evil_room()
    for path in ("/admin/rooms/message/", "/admin/rooms/identity/"):
        page = moderator.get(path).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, path


@pytest.mark.django_db(transaction=True)  # send_message runs the writer, which needs committed transactions
def test_the_admin_pages_load_only_same_origin_scripts(moderator):
    evil_room()
    for path in ("/admin/", "/admin/rooms/message/", "/admin/rooms/room/"):
        page = moderator.get(path).content.decode()
        for script in re.findall(r"<script\b[^>]*>", page):
            assert re.search(r'src="/', script), script


def test_the_home_form_needs_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/", {"action": "create", "name": "", "code": ""}).status_code == 403
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.post("/", {"action": "create", "name": "", "code": "", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_room_page_misses_are_limited_per_address_and_logged(client, settings, caplog):
    settings.CHAT_CODE_GUESS_LIMIT = "3/60"
    caplog.set_level(logging.INFO, logger="rooms.guards")
    room = services.room_create()
    for guess in ("QQQA", "QQQB", "QQQC"):
        assert client.get(f"/rooms/{guess}/").status_code == 404
    blocked = client.get(f"/rooms/{room.code}/")
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert "room code guessing: 127.0.0.1" in caplog.text
    assert client.get(f"/rooms/{room.code}/", REMOTE_ADDR="10.1.1.1").status_code == 200


def test_failed_joins_on_the_home_form_count_as_misses(client, settings):
    settings.CHAT_CODE_GUESS_LIMIT = "2/60"
    for guess in ("QQQA", "QQQB"):
        assert client.post("/", {"action": "join", "code": guess, "name": ""}).status_code == 200
    assert client.post("/", {"action": "join", "code": "QQQC", "name": ""}).status_code == 429
    assert client.post("/", {"action": "create", "name": "", "code": ""}).status_code == 302


def test_found_rooms_and_successful_joins_are_not_misses(client, settings):
    settings.CHAT_CODE_GUESS_LIMIT = "2/60"
    room = services.room_create()
    for _ in range(5):
        assert client.get(f"/rooms/{room.code}/").status_code == 200
        assert client.post("/", {"action": "join", "code": room.code, "name": ""}).status_code == 302


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DATABASE_URL", "REDIS_URL"))},
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "chat.example.org",
        "CHATSITE_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_room_creation_is_limited_per_address_with_the_form_shown_again(client, settings):
    settings.CHAT_ROOM_CREATE_LIMIT = "3/600"
    for _ in range(3):
        assert client.post("/", {"action": "create", "name": "Ann", "code": ""}).status_code == 302
    refused = client.post("/", {"action": "create", "name": "Ann", "code": ""})
    assert refused.status_code == 429 and 590 <= int(refused["Retry-After"]) <= 600
    page = refused.content.decode()
    assert "You have created 3 rooms in the last 10 minutes" in page and 'value="Ann"' in page
    assert Room.objects.count() == 3
    assert client.post("/", {"action": "create", "name": "", "code": ""}, REMOTE_ADDR="10.2.2.2").status_code == 302


def test_joining_still_works_for_an_address_that_created_too_many_rooms(client, settings):
    settings.CHAT_ROOM_CREATE_LIMIT = "1/600"
    assert client.post("/", {"action": "create", "name": "", "code": ""}).status_code == 302
    code = Room.objects.get().code
    assert client.post("/", {"action": "create", "name": "", "code": ""}).status_code == 429
    assert client.post("/", {"action": "join", "name": "", "code": code}).status_code == 302


def test_a_full_code_space_is_a_page_that_says_so_and_is_logged(client, settings, caplog):
    settings.ROOM_CODE_LENGTH = 1
    settings.CHAT_ROOM_CREATE_LIMIT = "off"
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        Room.objects.create(code=letter)
    response = client.post("/", {"action": "create", "name": "Ann", "code": ""})
    assert response.status_code == 503
    assert "Every room code is taken" in response.content.decode()
    assert any(r.levelname == "ERROR" and "no free room code" in r.getMessage() for r in caplog.records)
