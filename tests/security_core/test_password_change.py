"""Changing a password, by the user or by an admin, is recorded and ends other sessions."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from security_core import services
from security_core.models import SecurityEvent
from security_core.roles import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Lingonberry-Tramway-Quartz-81"
PASSWORD_OF_FACTORY = PASSWORD


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


def test_guessing_the_current_password_on_the_change_form_is_slowed_like_sign_in(
    client, handler, password, signed_in, settings
):
    signed_in(client, handler, verified=True)
    guess = {"old_password": "a-wrong-guess", "new_password1": NEW_PASSWORD}
    guess["new_password2"] = NEW_PASSWORD
    statuses = [
        client.post(reverse("password_change"), guess).status_code
        for _ in range(settings.VARN_LOGIN_SLOWDOWN_AFTER + 1)
    ]

    assert statuses[:-1] == [400] * settings.VARN_LOGIN_SLOWDOWN_AFTER
    assert statuses[-1] == 429
    right = {**guess, "old_password": password}
    assert client.post(reverse("password_change"), right).status_code == 429
    handler.refresh_from_db()
    assert handler.check_password(password)
    failures = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN_FAILED, user=handler)
    assert failures.count() == settings.VARN_LOGIN_SLOWDOWN_AFTER


def test_password_resembling_the_persons_name_is_refused(client, make_user, signed_in):
    person = make_user(Role.REPORTER, display_name="Hannelore Kvarnström")
    signed_in(client, person, verified=False)
    similar = "Hannelore-Kvarnstrom-2026"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD_OF_FACTORY, "new_password1": similar, "new_password2": similar},
    )
    assert response.status_code == 400
    person.refresh_from_db()
    assert not person.check_password(similar)


def test_admin_disabling_password_sign_in_is_recorded_and_ends_sessions(
    client, admin_user, make_user, password, signed_in
):
    target = make_user(Role.HANDLER)
    victim_browser = Client()
    _sign_in_for_real(victim_browser, target, password)
    signed_in(client, admin_user, verified=True)

    response = client.post(
        reverse("admin:auth_user_password_change", args=[target.pk]),
        {"usable_password": "false"},
    )

    assert response.status_code == 302
    target.refresh_from_db()
    assert not target.has_usable_password()
    assert victim_browser.get(reverse("home")).status_code == 302
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.PASSWORD_CHANGED, user=target)
    assert event.detail == "disabled by an administrator"


def test_admin_sites_own_password_and_logout_pages_lead_to_the_recorded_views(
    client, admin_user, signed_in
):
    signed_in(client, admin_user, verified=True)
    assert client.get("/admin/password_change/")["Location"] == reverse("password_change")
    assert client.get("/admin/logout/")["Location"] == reverse("logout")
