"""Changing a password, by the user or by an admin, is recorded and ends other sessions."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from security_core import services
from security_core.models import SecurityEvent
from security_core.roles import Role

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Lingonberry-Tramway-Quartz-81"


def _sign_in_for_real(client: Client, user, password: str) -> None:
    codes = services.backup_codes_issue(user=user)
    client.post(reverse("login"), {"username": user.email, "password": password})
    assert client.post(reverse("otp_verify"), {"token": codes[0]}).status_code == 302


def test_user_changes_own_password_and_other_sessions_end(handler, password):
    here, elsewhere = Client(), Client()
    _sign_in_for_real(here, handler, password)
    elsewhere.force_login(handler)
    old_key = here.cookies["varn_session"].value

    response = here.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert here.get(reverse("home")).status_code == 200  # still signed in here
    assert here.cookies["varn_session"].value != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    assert elsewhere.get(reverse("home")).status_code == 302  # signed out elsewhere
    handler.refresh_from_db()
    assert handler.check_password(NEW_PASSWORD)
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.PASSWORD_CHANGED)
    assert event.user == handler
    assert NEW_PASSWORD not in event.detail


def test_wrong_old_password_or_weak_new_password_is_refused(client, handler, password, signed_in):
    signed_in(client, handler, verified=True)
    wrong_old = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    weak = client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "Stockholm2026!",
            "new_password2": "Stockholm2026!",
        },
    )
    assert wrong_old.status_code == weak.status_code == 400
    handler.refresh_from_db()
    assert handler.check_password(password)
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.PASSWORD_CHANGED).exists()


def test_admin_setting_a_password_is_recorded_and_ends_all_the_users_sessions(
    client, admin_user, make_user, password, signed_in
):
    target = make_user(Role.HANDLER)
    victim_browser = Client()
    _sign_in_for_real(victim_browser, target, password)
    signed_in(client, admin_user, verified=True)

    response = client.post(
        reverse("admin:auth_user_password_change", args=[target.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.check_password(NEW_PASSWORD)
    assert victim_browser.get(reverse("home")).status_code == 302
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.PASSWORD_CHANGED, user=target)
    assert event.detail == "by an administrator"
