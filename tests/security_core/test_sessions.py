"""Sessions end on the server when they should, keys rotate at sign-in, and guessing is slowed."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP

from security_core import services
from security_core.models import BackupCode, SecurityEvent, TOTPDevice, TrackedSession, User
from security_core.roles import STAFF_ROLES
from tests.conftest import service_request
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

STAFF_IDLE = timedelta(minutes=15)
ABSOLUTE = timedelta(hours=10)


# --- helpers ---------------------------------------------------------------------------------


def _session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _session_exists(key: str) -> bool:
    return Session.objects.filter(session_key=key).exists()


def _set_clocks(client: Client, *, signed_in_ago: timedelta, seen_ago: timedelta) -> None:
    now = timezone.now()
    session = client.session
    session["varn_auth_at"] = int((now - signed_in_ago).timestamp())
    session["varn_seen_at"] = int((now - seen_ago).timestamp())
    session.save()


def _is_login_redirect(response: Any, next_path: str | None = None) -> bool:
    if response.status_code != 302:
        return False
    target = urlsplit(response["Location"])
    if target.path != reverse(settings.LOGIN_URL):
        return False
    return next_path is None or parse_qs(target.query).get("next") == [next_path]


def _post_login(client: Client, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(reverse("login"), {"username": email, "password": password}, **extra)


def _sign_in_for_real(user: User, code: str) -> Client:
    """Both steps through the real forms, so the session is tracked as in production."""
    client = Client()
    assert _post_login(client, user.email).status_code == 302
    assert client.post(reverse("otp_verify"), {"token": code}).status_code == 302
    assert client.get(reverse("home")).status_code == 200
    return client


def _without_tokens(response: Any) -> str:
    return re.sub(r'(value|nonce)="[^"]*"', "", response.content.decode())


# --- idle and absolute timeouts --------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_staff_session_idle_for_16_minutes_is_ended_on_the_next_request(
    client, make_user, signed_in, role
):
    user = make_user(role)
    signed_in(client, user, verified=True)
    key = _session_key(client)
    _set_clocks(client, signed_in_ago=timedelta(minutes=20), seen_ago=timedelta(minutes=16))

    response = client.get(reverse("home"))

    assert _is_login_redirect(response, next_path=reverse("home"))
    assert not _session_exists(key)
    assert SecurityEvent.objects.filter(
        user=user, kind=SecurityEvent.Kind.SESSION_EXPIRED, detail="idle"
    ).exists()
    assert _is_login_redirect(client.get(reverse("home")))


def test_staff_session_idle_for_14_minutes_still_works_and_is_kept_alive(
    client, handler, signed_in
):
    signed_in(client, handler, verified=True)
    _set_clocks(client, signed_in_ago=timedelta(minutes=20), seen_ago=timedelta(minutes=14))

    assert client.get(reverse("home")).status_code == 200
    # Activity moves the idle clock, so the user is not thrown out a minute later.
    assert client.session["varn_seen_at"] >= int(time.time()) - 5
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.SESSION_EXPIRED).exists()


def test_staff_idle_limit_is_fifteen_minutes():
    assert settings.VARN_STAFF_IDLE_TIMEOUT == STAFF_IDLE


@pytest.mark.parametrize(
    ("margin", "still_signed_in"),
    [(timedelta(minutes=-1), True), (timedelta(minutes=1), False)],
    ids=["just under", "just over"],
)
def test_reporter_session_ends_after_the_reporter_idle_limit(
    client, reporter, signed_in, margin, still_signed_in
):
    signed_in(client, reporter, verified=False)  # no device: a reporter owes no second factor
    key = _session_key(client)
    idle = settings.VARN_REPORTER_IDLE_TIMEOUT + margin
    _set_clocks(client, signed_in_ago=idle, seen_ago=idle)

    response = client.get(reverse("home"))

    if still_signed_in:
        assert response.status_code == 200
        assert _session_exists(key)
    else:
        assert _is_login_redirect(response, next_path=reverse("home"))
        assert not _session_exists(key)


def test_session_ends_ten_hours_after_sign_in_however_active(client, handler, signed_in):
    signed_in(client, handler, verified=True)
    key = _session_key(client)
    _set_clocks(client, signed_in_ago=ABSOLUTE + timedelta(minutes=1), seen_ago=timedelta(0))

    response = client.get(reverse("home"))

    assert _is_login_redirect(response, next_path=reverse("home"))
    assert not _session_exists(key)
    assert SecurityEvent.objects.filter(
        user=handler, kind=SecurityEvent.Kind.SESSION_EXPIRED, detail="absolute"
    ).exists()


def test_active_session_just_under_ten_hours_still_works(client, handler, signed_in):
    signed_in(client, handler, verified=True)
    _set_clocks(client, signed_in_ago=ABSOLUTE - timedelta(minutes=1), seen_ago=timedelta(0))

    assert client.get(reverse("home")).status_code == 200


def test_idle_session_cannot_post_either(client, handler, signed_in):
    signed_in(client, handler, verified=True)
    hashes = set(BackupCode.objects.filter(device__user=handler).values_list("code_hash"))
    _set_clocks(client, signed_in_ago=timedelta(minutes=30), seen_ago=timedelta(minutes=16))

    response = client.post(reverse("backup_codes_regenerate"))

    assert _is_login_redirect(response)
    assert set(BackupCode.objects.filter(device__user=handler).values_list("code_hash")) == hashes


# --- logout ----------------------------------------------------------------------------------


def test_logout_deletes_the_session_on_the_server(client, handler, signed_in):
    signed_in(client, handler, verified=True)
    old_key = _session_key(client)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("start")
    assert not _session_exists(old_key)
    assert SecurityEvent.objects.filter(user=handler, kind=SecurityEvent.Kind.LOGGED_OUT).exists()
    # Someone who copied the cookie earlier gets the sign-in page, not the user's pages.
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert _is_login_redirect(thief.get(reverse("home")))


def test_logout_by_get_only_asks(client, handler, signed_in):
    signed_in(client, handler, verified=True)
    key = _session_key(client)

    response = client.get(reverse("logout"))

    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert _session_exists(key)
    assert client.get(reverse("home")).status_code == 200


# --- deactivation ----------------------------------------------------------------------------


def test_ending_a_users_sessions_signs_out_every_browser(handler):
    codes = services.backup_codes_issue(user=handler)
    laptop = _sign_in_for_real(handler, codes[0])
    phone = _sign_in_for_real(handler, codes[1])
    keys = [_session_key(laptop), _session_key(phone)]
    assert TrackedSession.objects.filter(user=handler, session_key__in=keys).count() == 2

    assert services.user_sessions_end(user=handler) == 2

    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not TrackedSession.objects.filter(user=handler).exists()
    for browser in (laptop, phone):
        assert _is_login_redirect(browser.get(reverse("home")))


def test_deactivating_a_user_in_the_admin_ends_their_sessions(
    client, handler, admin_user, signed_in
):
    codes = services.backup_codes_issue(user=handler)
    laptop = _sign_in_for_real(handler, codes[0])
    phone = _sign_in_for_real(handler, codes[1])
    keys = [_session_key(laptop), _session_key(phone)]
    signed_in(client, admin_user, verified=True)

    response = client.post(
        reverse("admin:security_core_user_change", args=[handler.pk]),
        {
            "email": handler.email,
            "display_name": handler.display_name,
            "role": handler.role,
            # is_active left out: the box is unticked
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    handler.refresh_from_db()
    assert handler.is_active is False
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert SecurityEvent.objects.filter(
        user=handler, kind=SecurityEvent.Kind.SESSIONS_ENDED
    ).exists()
    for browser in (laptop, phone):
        assert _is_login_redirect(browser.get(reverse("home")))


# --- session key rotation --------------------------------------------------------------------


def test_session_key_rotates_at_password_and_at_totp_and_old_keys_die(client, handler):
    device = services.totp_device_begin(request=service_request(), user=handler)
    device.confirmed = True
    device.save()
    # An attacker plants a session id in the victim's browser before sign-in (fixation).
    planted = import_module(settings.SESSION_ENGINE).SessionStore()
    planted["planted"] = True
    planted.create()
    client.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key

    assert _post_login(client, handler.email)["Location"].startswith(reverse("otp_verify"))
    after_password = _session_key(client)
    assert after_password != planted.session_key
    assert not _session_exists(planted.session_key)

    totp = TOTP(TOTPDevice.objects.get(pk=device.pk).secret(), step=30, digits=6)
    totp.time = time.time()
    response = client.post(reverse("otp_verify"), {"token": f"{totp.token():06d}"})
    assert response.status_code == 302
    after_totp = _session_key(client)

    assert after_totp != after_password
    assert not _session_exists(after_password)
    assert _session_exists(after_totp)
    assert TrackedSession.objects.filter(session_key=after_totp, user=handler).exists()
    assert not TrackedSession.objects.filter(session_key=after_password).exists()
    assert client.get(reverse("home")).status_code == 200
    # The key from between the steps is worth nothing to someone who copied it.
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = after_password
    assert _is_login_redirect(thief.get(reverse("home")))


# --- slowing down password guessing ----------------------------------------------------------


def _fail_until_slowed(client: Client, user: User, address: str) -> None:
    for _ in range(settings.VARN_LOGIN_SLOWDOWN_AFTER):
        response = _post_login(client, user.email, "wrong-password-guess", REMOTE_ADDR=address)
        assert response.status_code == 400


def test_after_repeated_failures_even_the_right_password_must_wait(client, handler):
    assert settings.VARN_LOGIN_SLOWDOWN_AFTER < settings.AXES_FAILURE_LIMIT
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    _fail_until_slowed(client, handler, "203.0.113.9")

    right = _post_login(client, handler.email, REMOTE_ADDR="203.0.113.9")
    wrong = _post_login(client, handler.email, "wrong-password-guess", REMOTE_ADDR="203.0.113.9")

    assert right.status_code == wrong.status_code == 429
    assert "Wait" in right.content.decode()
    # While waiting, the answer does not tell whether the password was right.
    assert _without_tokens(right) == _without_tokens(wrong)
    assert "_auth_user_id" not in client.session
    # Throttled tries are answered without a database write each (no event flood).
    failed = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN_FAILED).count()
    assert failed == settings.VARN_LOGIN_SLOWDOWN_AFTER


def test_slowed_down_sign_in_works_once_the_wait_has_passed(client, handler):
    _fail_until_slowed(client, handler, "203.0.113.9")
    assert _post_login(client, handler.email, REMOTE_ADDR="203.0.113.9").status_code == 429

    AccessAttempt.objects.filter(username=handler.email).update(
        attempt_time=timezone.now() - timedelta(minutes=1)
    )

    response = _post_login(client, handler.email, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_enrol"))


def test_failures_from_one_address_do_not_slow_down_another(client, handler):
    _fail_until_slowed(client, handler, "203.0.113.9")

    elsewhere = Client()
    response = _post_login(elsewhere, handler.email, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 302


def test_changing_the_case_of_the_address_does_not_escape_the_slow_down(client, handler):
    _fail_until_slowed(client, handler, "203.0.113.9")

    response = _post_login(client, f"  {handler.email.upper()} ", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 429


def test_slowed_down_unknown_and_known_user_get_the_same_answer(client, handler):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    _fail_until_slowed(client, handler, "203.0.113.9")
    for _ in range(settings.VARN_LOGIN_SLOWDOWN_AFTER):
        _post_login(client, "nobody@example.se", "wrong-password-guess", REMOTE_ADDR="203.0.113.9")

    known = _post_login(client, handler.email, "wrong-password-guess", REMOTE_ADDR="203.0.113.9")
    unknown = _post_login(client, "nobody@example.se", "x-wrong-guess", REMOTE_ADDR="203.0.113.9")

    assert known.status_code == unknown.status_code == 429
    assert _without_tokens(known) == _without_tokens(unknown)


# --- open redirect ---------------------------------------------------------------------------


EVIL_TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "http://testserver@evil.example/",
]


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_login_does_not_redirect_to_another_site(client, reporter, target):
    response = client.post(
        reverse("login"), {"username": reporter.email, "password": PASSWORD, "next": target}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.parametrize("target", EVIL_TARGETS[:2])
def test_login_next_in_query_string_does_not_redirect_to_another_site(client, reporter, target):
    response = client.post(
        f"{reverse('login')}?next={target}", {"username": reporter.email, "password": PASSWORD}
    )

    assert response["Location"] == reverse("home")


def test_second_factor_step_does_not_redirect_to_another_site(client, handler):
    codes = services.backup_codes_issue(user=handler)
    first = client.post(
        reverse("login"),
        {"username": handler.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert "evil.example" not in first["Location"]

    response = client.post(
        reverse("otp_verify"), {"token": codes[0], "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_login_keeps_a_local_next(client, reporter):
    response = client.post(
        reverse("login"),
        {"username": reporter.email, "password": PASSWORD, "next": reverse("account_security")},
    )

    assert response["Location"] == reverse("account_security")


def test_changing_the_user_agent_does_not_escape_the_slow_down(client, handler):
    for attempt in range(settings.VARN_LOGIN_SLOWDOWN_AFTER):
        response = _post_login(
            client,
            handler.email,
            "wrong-password-guess",
            REMOTE_ADDR="203.0.113.9",
            HTTP_USER_AGENT=f"agent-{attempt}",
        )
        assert response.status_code == 400
    response = _post_login(
        client, handler.email, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="yet-another-agent"
    )
    assert response.status_code == 429
