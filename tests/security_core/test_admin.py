"""The Django admin: who may use it for what, and that it never shows a secret."""

from __future__ import annotations

import base64
import re
from datetime import date

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.test.client import RedirectCycleError
from django.urls import reverse

from security_core import services
from security_core.models import BackupCodeDevice, SecurityEvent, TOTPDevice, User
from security_core.roles import Role
from tests.conftest import enrol_totp as _enrol_totp
from tests.conftest import stored_ciphertext

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "Vinter-Lykta-Paraply-93"


def _secret_forms(device: TOTPDevice) -> list[str]:
    """Every way the device's secret or sealed key could be written on a page."""
    secret = device.secret()
    sealed = stored_ciphertext(device)
    b32 = base64.b32encode(secret).decode().rstrip("=")
    return [
        secret.hex(),
        b32,
        b32.lower(),
        services.totp_key_text(secret),
        base64.b64encode(secret).decode(),
        sealed.hex(),
        base64.b64encode(sealed).decode(),
        base64.b64encode(sealed).decode().rstrip("="),
        repr(sealed)[2:-1][:40],
    ]


def _assert_no_secret(body: str, device: TOTPDevice) -> None:
    for form in _secret_forms(device):
        assert form not in body, "the page shows the TOTP secret or its sealed key"
    assert "data_key" not in body
    assert "otpauth://" not in body
    # Nothing long that looks like a base32 key or a hex blob, whatever it is.
    assert not re.search(r"\b[A-Z2-7]{26,}\b", body)
    assert not re.search(r"\b[0-9a-f]{40,}\b", body)


@pytest.fixture
def admin_client(client, admin_user, signed_in, settings) -> Client:
    signed_in(client, admin_user, verified=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def auditor(make_user) -> User:
    return make_user(Role.AUDITOR, email="aud@example.se")


@pytest.fixture
def auditor_client(client, auditor, signed_in, settings) -> Client:
    signed_in(client, auditor, verified=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _final_status(client: Client, url: str) -> int:
    try:
        response = client.get(url, follow=True)
    except RedirectCycleError as loop:
        chain = getattr(loop.last_response, "redirect_chain", "")
        pytest.fail(f"{url} redirects in a loop: {chain}")
    return response.status_code


# --- system admin ----------------------------------------------------------------------------


def test_admin_can_list_users_and_open_one(admin_client, handler):
    listing = admin_client.get(reverse("admin:security_core_user_changelist"))
    assert listing.status_code == 200
    assert handler.email in listing.content.decode()

    change = admin_client.get(reverse("admin:security_core_user_change", args=[handler.pk]))
    assert change.status_code == 200
    assert handler.email in change.content.decode()


def test_user_change_page_shows_neither_the_password_hash_nor_the_otp_secret(admin_client, handler):
    device = _enrol_totp(handler)
    handler.refresh_from_db()
    encoded = handler.password
    algorithm, *_params, salt, digest = encoded.split("$")
    assert algorithm == "argon2"

    body = admin_client.get(
        reverse("admin:security_core_user_change", args=[handler.pk])
    ).content.decode()

    assert encoded not in body
    assert digest not in body
    assert salt not in body
    _assert_no_secret(body, device)


def test_totp_device_pages_show_no_sealed_key_and_nothing_like_the_secret(admin_client, handler):
    device = _enrol_totp(handler)

    listing = admin_client.get(reverse("admin:security_core_totpdevice_changelist"))
    assert listing.status_code == 200
    assert handler.email in listing.content.decode()
    _assert_no_secret(listing.content.decode(), device)

    page = admin_client.get(reverse("admin:security_core_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    _assert_no_secret(page.content.decode(), device)
    assert 'name="key"' not in page.content.decode()


def test_backup_code_device_pages_show_no_code_and_no_code_hash(admin_client, handler):
    codes = services.backup_codes_issue(user=handler)
    device = BackupCodeDevice.objects.get(user=handler)
    hashes = list(device.codes.values_list("code_hash", flat=True))

    for url in (
        reverse("admin:security_core_backupcodedevice_changelist"),
        reverse("admin:security_core_backupcodedevice_change", args=[device.pk]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        for secret in [*codes, *(c.replace("-", "") for c in codes), *hashes]:
            assert secret not in body


@pytest.mark.parametrize("model", ["totpdevice", "backupcodedevice"])
def test_devices_cannot_be_added_or_edited_in_the_admin(admin_client, handler, model):
    _enrol_totp(handler)
    services.backup_codes_issue(user=handler)
    device_model = TOTPDevice if model == "totpdevice" else BackupCodeDevice
    device = device_model.objects.get(user=handler)
    add_url = reverse(f"admin:security_core_{model}_add")

    assert admin_client.get(add_url).status_code == 403
    assert admin_client.post(add_url, {"user": handler.pk, "name": "x"}).status_code == 403
    listing = admin_client.get(reverse(f"admin:security_core_{model}_changelist"))
    assert add_url not in listing.content.decode()

    change_url = reverse(f"admin:security_core_{model}_change", args=[device.pk])
    response = admin_client.post(change_url, {"user": handler.pk, "name": "Renamed"})
    assert response.status_code == 403
    device.refresh_from_db()
    assert device.name != "Renamed"


# --- auditor ---------------------------------------------------------------------------------


def test_auditor_can_read_the_audit_log_and_security_events(auditor_client, handler):
    # Something to read in both lists.
    handler.role = Role.DUTY_OFFICER
    handler.save()
    services.security_event_record(kind=SecurityEvent.Kind.LOGIN_FAILED, user=handler)

    log = auditor_client.get(reverse("admin:auditlog_logentry_changelist"))
    assert log.status_code == 200
    assert handler.email in log.content.decode()

    events = auditor_client.get(reverse("admin:security_core_securityevent_changelist"))
    assert events.status_code == 200
    assert handler.email in events.content.decode()


def test_auditor_can_search_and_open_audit_log_entries(auditor_client, handler):
    from auditlog.models import LogEntry

    handler.role = Role.DUTY_OFFICER
    handler.save()
    entry = LogEntry.objects.get_for_object(handler).latest("timestamp")

    found = auditor_client.get(reverse("admin:auditlog_logentry_changelist"), {"q": handler.email})
    assert found.status_code == 200
    assert handler.email in found.content.decode()

    detail = auditor_client.get(reverse("admin:auditlog_logentry_change", args=[entry.pk]))
    assert detail.status_code == 200


def test_auditor_cannot_see_or_change_accounts(auditor_client, handler):
    for url in (
        reverse("admin:security_core_user_changelist"),
        reverse("admin:security_core_user_change", args=[handler.pk]),
        reverse("admin:security_core_user_add"),
        reverse("admin:security_core_totpdevice_changelist"),
        reverse("admin:security_core_backupcodedevice_changelist"),
    ):
        assert auditor_client.get(url).status_code in {403, 404}, url

    response = auditor_client.post(
        reverse("admin:security_core_user_change", args=[handler.pk]),
        {
            "email": handler.email,
            "display_name": handler.display_name,
            "role": Role.ADMIN,
            "is_active": "on",
        },
    )
    assert response.status_code in {403, 404}
    handler.refresh_from_db()
    assert handler.role == Role.HANDLER


def test_auditor_cannot_change_or_delete_the_audit_trail(auditor_client, handler):
    from auditlog.models import LogEntry

    handler.role = Role.DUTY_OFFICER
    handler.save()
    entry = LogEntry.objects.get_for_object(handler).latest("timestamp")
    event = services.security_event_record(kind=SecurityEvent.Kind.LOGIN_FAILED, user=handler)

    assert auditor_client.post(
        reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"}
    ).status_code in {403, 404}
    assert auditor_client.post(
        reverse("admin:auditlog_logentry_change", args=[entry.pk]), {"object_repr": "x"}
    ).status_code in {403, 404}
    assert auditor_client.post(
        reverse("admin:security_core_securityevent_delete", args=[event.pk]), {"post": "yes"}
    ).status_code in {403, 404}
    assert auditor_client.get(reverse("admin:security_core_securityevent_add")).status_code in {
        403,
        404,
    }
    assert LogEntry.objects.filter(pk=entry.pk).exists()
    assert SecurityEvent.objects.filter(pk=event.pk).exists()


def test_admin_cannot_read_the_audit_trail(admin_client):
    assert admin_client.get(reverse("admin:auditlog_logentry_changelist")).status_code in {
        403,
        404,
    }
    assert admin_client.get(
        reverse("admin:security_core_securityevent_changelist")
    ).status_code in {403, 404}


@pytest.mark.parametrize(
    "role",
    [
        Role.REPORTER,
        Role.HANDLER,
        Role.DUTY_OFFICER,
        Role.LEADERSHIP,
        Role.COMMUNICATIONS,
    ],
    ids=lambda r: r.value,
)
def test_other_roles_get_not_found_on_the_admin(client, make_user, signed_in, role):
    signed_in(client, make_user(role), verified=True)

    assert _final_status(client, reverse("admin:index")) == 404
    assert _final_status(client, reverse("admin:security_core_user_changelist")) == 404
    assert _final_status(client, reverse("admin:auditlog_logentry_changelist")) == 404


def test_the_head_of_security_keeps_the_election_calendar_and_sees_nothing_else_there(
    client, make_user, signed_in, django_capture_on_commit_callbacks
):
    from auditlog.models import LogEntry

    from influence_reports.models import Election, TrendRelease

    lead = make_user(Role.SECURITY_LEAD)
    signed_in(client, lead, verified=True)
    for other in ("security_core_user", "auditlog_logentry", "security_core_accessentry"):
        assert _final_status(client, reverse(f"admin:{other}_changelist")) in {403, 404}
    page = client.get(reverse("admin:influence_reports_election_changelist"))
    assert page.status_code == 200
    assert "2030-09-08" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("admin:influence_reports_election_add"),
            {
                "kind": "extra",
                "year": 2027,
                "polling_day": "2027-05-16",
                "months_before": 3,
                "months_after": 1,
            },
        )
    assert response.status_code == 302
    extra = Election.objects.get(kind="extra")
    assert (extra.polling_day, extra.months_before) == (date(2027, 5, 16), 3)
    assert callbacks  # the trends are counted afresh and published once it is saved
    assert TrendRelease.objects.filter(is_current=True).exists()
    entry = LogEntry.objects.get_for_object(extra).get()
    assert entry.actor == lead

    wrong_year = client.post(
        reverse("admin:influence_reports_election_add"),
        {
            "kind": "general",
            "year": 2033,
            "polling_day": "2034-09-10",
            "months_before": 6,
            "months_after": 1,
        },
    )
    assert wrong_year.status_code == 200
    assert not Election.objects.filter(year=2033).exists()


def test_reporter_without_a_device_gets_not_found_on_the_admin_not_a_redirect_loop(
    client, reporter, signed_in
):
    signed_in(client, reporter, verified=False)

    assert _final_status(client, reverse("admin:index")) == 404


def test_admin_who_has_not_passed_the_second_factor_cannot_reach_the_admin(
    client, admin_user, signed_in
):
    services.backup_codes_issue(user=admin_user)
    signed_in(client, admin_user, verified=False)

    response = client.get(reverse("admin:security_core_user_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_verify"))


# --- creating accounts -----------------------------------------------------------------------


def _add_user(client: Client, email: str, password: str):
    return client.post(
        reverse("admin:security_core_user_add"),
        {
            "email": email,
            "display_name": "Nils Nyanställd",
            "role": Role.HANDLER,
            "usable_password": "true",
            "password1": password,
            "password2": password,
        },
    )


def test_admin_add_form_has_the_expected_fields(admin_client):
    body = admin_client.get(reverse("admin:security_core_user_add")).content.decode()
    for field in ("email", "display_name", "role", "password1", "password2"):
        assert f'name="{field}"' in body


@pytest.mark.parametrize("weak", ["password123", "Stockholm2026!", "aaaaaaaaaaaaaaa"])
def test_admin_cannot_create_a_user_with_a_weak_password(admin_client, weak):
    response = _add_user(admin_client, "nils@example.se", weak)

    assert response.status_code == 200  # the form again, with errors
    assert response.context["adminform"].form.errors.get("password2")
    assert not User.objects.filter(email="nils@example.se").exists()


def test_admin_creates_a_user_with_a_strong_password_stored_as_argon2id(admin_client):
    response = _add_user(admin_client, "nils@example.se", STRONG_PASSWORD)

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="nils@example.se")
    assert user.role == Role.HANDLER
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(STRONG_PASSWORD)


# --- removing a device -----------------------------------------------------------------------


def _sign_in_for_real(user: User, password: str, code: str) -> Client:
    other = Client()
    other.post(reverse("login"), {"username": user.email, "password": password})
    assert other.post(reverse("otp_verify"), {"token": code}).status_code == 302
    assert other.get(reverse("home")).status_code == 200
    return other


def test_removing_a_users_totp_device_ends_that_users_sessions(admin_client, handler, password):
    device = _enrol_totp(handler)
    codes = services.backup_codes_issue(user=handler)
    handler_client = _sign_in_for_real(handler, password, codes[0])
    session_key = handler_client.session.session_key
    assert Session.objects.filter(session_key=session_key).exists()

    response = admin_client.post(
        reverse("admin:security_core_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert not Session.objects.filter(session_key=session_key).exists()
    after = handler_client.get(reverse("home"))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("login"))
    assert SecurityEvent.objects.filter(
        user=handler, kind=SecurityEvent.Kind.SESSIONS_ENDED
    ).exists()


def test_removing_a_users_totp_device_in_bulk_also_ends_that_users_sessions(
    admin_client, handler, password
):
    device = _enrol_totp(handler)
    codes = services.backup_codes_issue(user=handler)
    handler_client = _sign_in_for_real(handler, password, codes[0])
    session_key = handler_client.session.session_key

    response = admin_client.post(
        reverse("admin:security_core_totpdevice_changelist"),
        {"action": "delete_selected", "_selected_action": [device.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert not Session.objects.filter(session_key=session_key).exists()


def test_deactivating_a_user_in_the_admin_ends_that_users_sessions(admin_client, handler, password):
    codes = services.backup_codes_issue(user=handler)
    handler_client = _sign_in_for_real(handler, password, codes[0])
    session_key = handler_client.session.session_key

    response = admin_client.post(
        reverse("admin:security_core_user_change", args=[handler.pk]),
        {"email": handler.email, "display_name": handler.display_name, "role": handler.role},
    )

    assert response.status_code == 302
    handler.refresh_from_db()
    assert handler.is_active is False
    assert not Session.objects.filter(session_key=session_key).exists()
