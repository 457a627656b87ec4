"""The two-step sign-in as a person (or an attacker) meets it."""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django_otp.oath import TOTP

from security_core import services
from security_core.models import SecurityEvent, TOTPDevice
from security_core.roles import Role

pytestmark = pytest.mark.django_db


def _post_login(client, email, password, **extra):
    return client.post(reverse("login"), {"username": email, "password": password}, **extra)


def test_handler_signs_in_with_password_then_backup_code_and_session_key_rotates_twice(
    client, handler, password
):
    codes = services.backup_codes_issue(user=handler)
    client.get(reverse("login"))
    before = client.cookies.get("varn_session")

    response = _post_login(client, handler.email, password)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_verify"))
    after_password = client.cookies["varn_session"].value
    assert before is None or before.value != after_password

    # Before the second factor, staff pages are out of reach.
    assert client.get(reverse("home"))["Location"].startswith(reverse("otp_verify"))

    response = client.post(reverse("otp_verify"), {"token": codes[0]})
    assert response.status_code == 302
    after_otp = client.cookies["varn_session"].value
    assert after_otp != after_password
    assert client.get(reverse("home")).status_code == 200
    kinds = list(SecurityEvent.objects.filter(user=handler).values_list("kind", flat=True))
    assert SecurityEvent.Kind.LOGIN_SUCCEEDED in kinds
    assert SecurityEvent.Kind.OTP_SUCCEEDED in kinds


def test_backup_code_works_only_once(client, handler, password, signed_in):
    codes = services.backup_codes_issue(user=handler)
    _post_login(client, handler.email, password)
    assert client.post(reverse("otp_verify"), {"token": codes[1]}).status_code == 302
    client.post(reverse("logout"))

    _post_login(client, handler.email, password)
    response = client.post(reverse("otp_verify"), {"token": codes[1]})
    assert response.status_code == 400
    assert "already used" in response.content.decode() or "redan" in response.content.decode()


def test_staff_without_device_is_sent_to_enrolment_and_can_enrol_totp(client, handler, password):
    response = _post_login(client, handler.email, password)
    assert response["Location"].startswith(reverse("otp_enrol"))
    page = client.get(reverse("otp_enrol"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body
    assert "viewBox" in body  # scales with the page instead of being cropped
    device = TOTPDevice.objects.get(user=handler, confirmed=False)
    secret = device.secret()
    token = TOTP(secret).token()
    response = client.post(reverse("otp_enrol"), {"token": f"{token:06d}"})
    assert response.status_code == 200
    codes = re.findall(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", response.content.decode())
    assert len(codes) == 10
    assert client.get(reverse("home")).status_code == 200


def test_unknown_user_and_wrong_password_get_the_same_answer(client, handler):
    wrong = _post_login(client, handler.email, "not-the-password-at-all")
    unknown = _post_login(client, "nobody@example.se", "not-the-password-at-all")
    strip = lambda r: re.sub(r'(value|nonce)="[^"]*"', "", r.content.decode())  # noqa: E731
    assert wrong.status_code == unknown.status_code == 400
    assert strip(wrong).replace(handler.email, "") == strip(unknown).replace(
        "nobody@example.se", ""
    )


def test_lockout_is_per_user_and_address_not_per_user(client, handler, password, settings):
    settings.VARN_LOGIN_SLOWDOWN_AFTER = 100  # isolate the lockout from the slow-down
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _post_login(client, handler.email, "wrong-password-x", REMOTE_ADDR="203.0.113.9")
    locked = _post_login(client, handler.email, password, REMOTE_ADDR="203.0.113.9")
    assert locked.status_code == 429
    assert AccessAttempt.objects.filter(ip_address="203.0.113.9").exists()

    from django.test import Client

    elsewhere = Client()
    ok = _post_login(elsewhere, handler.email, password, REMOTE_ADDR="198.51.100.7")
    assert ok.status_code == 302


def test_role_fixture_roles(make_user):
    assert make_user(Role.AUDITOR).role == Role.AUDITOR
