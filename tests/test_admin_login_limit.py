"""The admin login is locked per address and per username after ADMIN_LOGIN_FAILURE_LIMIT wrong
passwords (django-axes, chatsite/settings.py): then even the right password is refused."""
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("mod", "mod@example.org", "right-password")


def _login(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def test_the_right_password_logs_in(staff):
    assert _login(Client(), "mod", "right-password").status_code == 302


def test_the_nth_wrong_password_locks_and_the_right_one_is_refused_after(staff, settings):
    assert settings.AXES_FAILURE_LIMIT == 5  # the documented default
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(4):
        assert _login(client, "mod", "wrong").status_code == 200  # the form again
    assert _login(client, "mod", "wrong").status_code == 429  # the 5th locks
    assert _login(client, "mod", "right-password").status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_locked_username_is_refused_from_another_address(staff):
    for n in range(5):
        _login(Client(REMOTE_ADDR=f"203.0.113.{n + 10}"), "mod", "wrong")  # one try from each of five addresses
    assert _login(Client(REMOTE_ADDR="198.51.100.1"), "mod", "right-password").status_code == 429


def test_a_locked_address_is_refused_for_every_username(staff, django_user_model):
    django_user_model.objects.create_superuser("other", "o@example.org", "other-password")
    client = Client(REMOTE_ADDR="203.0.113.50")
    for n in range(5):
        _login(client, f"guess{n}", "wrong")
    assert _login(client, "other", "other-password").status_code == 429


def test_failures_below_the_limit_are_forgotten_after_a_success(staff):
    client = Client(REMOTE_ADDR="203.0.113.60")
    for _ in range(4):
        _login(client, "mod", "wrong")
    assert _login(client, "mod", "right-password").status_code == 302
    for _ in range(4):
        assert _login(Client(REMOTE_ADDR="203.0.113.60"), "mod", "wrong").status_code == 200
