"""Role, activation and device changes are audited with their actor; no secret enters the log."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP

from security_core import backup_codes, services
from security_core.models import BackupCode, BackupCodeDevice, SecurityEvent, TOTPDevice, User
from security_core.roles import Role
from tests.conftest import enrol_totp as _enrol_totp_by_service
from tests.conftest import stored_ciphertext

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Fjällräv-Kanot-Stjärna-58"
ADMIN_SET_PASSWORD = "Morgon-Dimma-Brygga-71"


@pytest.fixture
def admin_client(client, admin_user, signed_in) -> Client:
    signed_in(client, admin_user, verified=True)
    return client


def _entries(obj_or_model: Any, pk: Any = None):
    model = obj_or_model if pk is not None else type(obj_or_model)
    object_pk = str(pk if pk is not None else obj_or_model.pk)
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_pk=object_pk
    ).order_by("timestamp", "id")


def _admin_change_user(client: Client, user: User, **changes: Any):
    """Submit the admin's change form for ``user`` as a person would: the form as shown, edited."""
    url = reverse("admin:security_core_user_change", args=[user.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = changes.get(name, form.initial.get(name))
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        if value is not None:
            data[name] = value
    assert {"email", "display_name", "role", "is_active"} <= set(form.fields)
    data["_save"] = "Save"
    response = client.post(url, data)
    assert response.status_code == 302, (
        getattr(response, "context", {}) and response.context["adminform"].form.errors
    )
    return response


# --- users -----------------------------------------------------------------------------------


def test_role_change_in_the_admin_is_audited_with_old_and_new_role_and_the_admin_as_actor(
    admin_client, admin_user, reporter
):
    _admin_change_user(admin_client, reporter, role=Role.HANDLER)

    reporter.refresh_from_db()
    assert reporter.role == Role.HANDLER
    entry = _entries(reporter).filter(action=LogEntry.Action.UPDATE).last()
    assert entry is not None
    assert entry.changes_dict["role"] == [Role.REPORTER.value, Role.HANDLER.value]
    assert set(entry.changes_dict) == {"role"}
    assert entry.actor == admin_user


def test_deactivation_in_the_admin_is_audited_with_the_admin_as_actor(
    admin_client, admin_user, handler
):
    _admin_change_user(admin_client, handler, is_active=False)

    handler.refresh_from_db()
    assert handler.is_active is False
    entry = _entries(handler).filter(action=LogEntry.Action.UPDATE).last()
    assert entry is not None
    assert entry.changes_dict["is_active"] == ["True", "False"]
    assert entry.actor == admin_user


def test_creating_a_user_is_audited_without_the_password(admin_client, admin_user):
    admin_client.post(
        reverse("admin:security_core_user_add"),
        {
            "email": "nils@example.se",
            "display_name": "Nils Nyanställd",
            "role": Role.AUDITOR,
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    user = User.objects.get(email="nils@example.se")
    entry = _entries(user).get(action=LogEntry.Action.CREATE)
    assert entry.actor == admin_user
    assert entry.changes_dict["role"][1] == Role.AUDITOR.value
    assert "password" not in entry.changes_dict


# --- devices ---------------------------------------------------------------------------------


def test_enrolling_totp_through_the_pages_is_audited_with_the_user_as_actor(
    client, handler, signed_in
):
    signed_in(client, handler, verified=False)
    assert client.get(reverse("otp_enrol")).status_code == 200
    device = TOTPDevice.objects.get(user=handler)
    token = f"{TOTP(device.secret()).token():06d}"
    assert client.post(reverse("otp_enrol"), {"token": token}).status_code == 200

    created = _entries(device).get(action=LogEntry.Action.CREATE)
    assert created.actor == handler
    assert created.changes_dict["user"][1] == str(handler.pk)
    confirmed = _entries(device).filter(action=LogEntry.Action.UPDATE).last()
    assert confirmed is not None
    assert confirmed.changes_dict["confirmed"] == ["False", "True"]
    assert confirmed.actor == handler

    codes_device = BackupCodeDevice.objects.get(user=handler)
    issued = _entries(codes_device).get(action=LogEntry.Action.CREATE)
    assert issued.actor == handler


def test_enrolling_totp_through_the_services_is_audited(handler):
    device = _enrol_totp_by_service(handler)

    actions = list(_entries(device).values_list("action", flat=True))
    assert LogEntry.Action.CREATE in actions
    assert LogEntry.Action.UPDATE in actions


def test_replacing_backup_codes_is_audited_as_a_change_of_the_same_device(handler):
    services.backup_codes_issue(user=handler)
    device = BackupCodeDevice.objects.get(user=handler)
    services.backup_codes_issue(user=handler)

    # The device is kept (a session verified with it stays verified); its new issue time
    # is the audited change.
    assert BackupCodeDevice.objects.get(user=handler).pk == device.pk
    assert _entries(device).filter(action=LogEntry.Action.CREATE).exists()
    update = _entries(device).filter(action=LogEntry.Action.UPDATE).get()
    assert "issued_at" in update.changes_dict


@pytest.mark.parametrize("model", [TOTPDevice, BackupCodeDevice], ids=lambda m: m.__name__)
def test_deleting_a_device_in_the_admin_is_audited_with_the_admin_as_actor(
    admin_client, admin_user, handler, model
):
    _enrol_totp_by_service(handler)
    services.backup_codes_issue(user=handler)
    device = model.objects.get(user=handler)
    pk = device.pk
    url = reverse(f"admin:security_core_{model._meta.model_name}_delete", args=[pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 302

    assert not model.objects.filter(pk=pk).exists()
    entry = _entries(model, pk).get(action=LogEntry.Action.DELETE)
    assert entry.actor == admin_user
    assert entry.content_type.model == model._meta.model_name
    assert entry.content_type.app_label == "security_core"


# --- no secrets ------------------------------------------------------------------------------


def _field_texts(row: Any) -> list[str]:
    texts = []
    for field in row._meta.concrete_fields:
        value = getattr(row, field.attname)
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            texts.append(json.dumps(value, default=str, ensure_ascii=False))
            texts.append(json.dumps(value, default=str))
        else:
            texts.append(str(value))
    return texts


def _forms_of_bytes(raw: bytes) -> list[str]:
    return [
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        repr(raw)[2:-1],
    ]


def test_no_secret_ever_enters_the_audit_log(client, admin_client, make_user, password):
    secrets: set[str] = {"argon2", password, NEW_PASSWORD, ADMIN_SET_PASSWORD}

    def remember_password_hash(user: User) -> None:
        user.refresh_from_db()
        encoded = user.password
        secrets.add(encoded)
        secrets.update(part for part in encoded.split("$") if len(part) >= 16)

    users = [make_user(role) for role in Role]
    for user in users:
        remember_password_hash(user)
    target = users[1]

    # A password changed in code, and one changed through the admin's password page.
    target.set_password(NEW_PASSWORD)
    target.save()
    remember_password_hash(target)
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[target.pk]),
        {
            "usable_password": "true",
            "password1": ADMIN_SET_PASSWORD,
            "password2": ADMIN_SET_PASSWORD,
        },
    )
    assert response.status_code == 302
    remember_password_hash(target)
    assert target.check_password(ADMIN_SET_PASSWORD)

    # A TOTP device, through the service and again through the enrolment page.
    device = _enrol_totp_by_service(users[2])
    other_client = Client()
    handler = users[3]
    from tests.conftest import sign_in

    sign_in(other_client, handler, verified=False)
    other_client.get(reverse("otp_enrol"))
    pending = TOTPDevice.objects.get(user=handler)
    other_client.post(reverse("otp_enrol"), {"token": f"{TOTP(pending.secret()).token():06d}"})
    for totp_device in (device, TOTPDevice.objects.get(user=handler)):
        secret = totp_device.secret()
        b32 = base64.b32encode(secret).decode().rstrip("=")
        secrets.update(_forms_of_bytes(secret))
        secrets.update({b32, b32.lower(), services.totp_key_text(secret)})
        secrets.update(_forms_of_bytes(stored_ciphertext(totp_device)))

    # Backup codes issued, and one used to sign in for real.
    codes = services.backup_codes_issue(user=users[4])
    codes += services.backup_codes_issue(user=target)
    secrets.update(codes)
    secrets.update(backup_codes.normalise(code) for code in codes)
    secrets.update(BackupCode.objects.values_list("code_hash", flat=True))
    login_client = Client()
    login_client.post(reverse("login"), {"username": target.email, "password": ADMIN_SET_PASSWORD})
    assert login_client.post(reverse("otp_verify"), {"token": codes[-1]}).status_code == 302

    # And a role change for good measure.
    _admin_change_user(admin_client, users[0], role=Role.LEADERSHIP)

    entries = list(LogEntry.objects.all())
    assert len(entries) >= 10  # the scan below looked at something
    texts = [text for entry in entries for text in _field_texts(entry)]
    texts += [text for entry in AdminLogEntry.objects.all() for text in _field_texts(entry)]
    texts += [text for event in SecurityEvent.objects.all() for text in _field_texts(event)]
    leaked = {secret for secret in secrets for text in texts if secret and secret in text}
    assert not leaked


# --- security events -------------------------------------------------------------------------

WRONG_PASSWORD = "Hunter2-Guessed-Wrong-66"


def _login(client: Client, email: str, secret: str, **extra: Any):
    return client.post(reverse("login"), {"username": email, "password": secret}, **extra)


def _assert_no_attempted_password_stored() -> None:
    for event in SecurityEvent.objects.all():
        for text in _field_texts(event):
            assert WRONG_PASSWORD not in text


def test_successful_login_records_a_security_event_with_user_and_address(client, handler, password):
    _login(client, handler.email, password, REMOTE_ADDR="192.0.2.10")

    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN_SUCCEEDED)
    assert event.user == handler
    assert event.ip_address == "192.0.2.10"
    for text in _field_texts(event):
        assert password not in text


def test_failed_login_of_a_known_user_records_a_security_event_for_that_user(client, handler):
    response = _login(client, handler.email, WRONG_PASSWORD)

    assert response.status_code == 400
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN_FAILED)
    assert event.user == handler
    _assert_no_attempted_password_stored()


def test_failed_login_of_an_unknown_user_records_an_event_with_no_user(client, handler):
    # People type their password into the e-mail field; that must not be stored either.
    typed_name = "Hunter2-Typed-Into-Name"
    _login(client, typed_name, WRONG_PASSWORD)

    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN_FAILED)
    assert event.user is None
    for text in _field_texts(event):
        assert typed_name.lower() not in text.lower()
    _assert_no_attempted_password_stored()


def test_lockout_records_a_locked_out_security_event(client, handler, password, settings):
    settings.VARN_LOGIN_SLOWDOWN_AFTER = 100  # isolate the lockout from the slow-down
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, handler.email, WRONG_PASSWORD, REMOTE_ADDR="203.0.113.5")
    response = _login(client, handler.email, password, REMOTE_ADDR="203.0.113.5")

    assert response.status_code == 429
    locked = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOCKED_OUT)
    assert locked.exists()
    assert {event.user for event in locked} == {handler}
    assert {event.ip_address for event in locked} == {"203.0.113.5"}
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN_SUCCEEDED).exists()
    _assert_no_attempted_password_stored()


def test_wrong_second_factor_records_an_otp_failure(client, handler, password):
    services.backup_codes_issue(user=handler)
    _login(client, handler.email, password)

    for wrong in ("000000", "ABCD-EFGH-JKMN"):
        response = client.post(reverse("otp_verify"), {"token": wrong})
        assert response.status_code == 400

    failures = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.OTP_FAILED)
    assert failures.count() == 2
    assert {event.user for event in failures} == {handler}
    for event in failures:
        for text in _field_texts(event):
            assert "000000" not in text
            assert "ABCD" not in text


def test_audit_entries_keep_no_connection_details_a_client_sent(client, admin_user, handler):
    from tests.conftest import sign_in

    sign_in(client, admin_user, verified=True)
    url = reverse("admin:security_core_user_change", args=[handler.pk])
    form = {"email": handler.email, "display_name": handler.display_name}
    form |= {"role": Role.DUTY_OFFICER, "is_active": "on"}
    client.post(
        url,
        form,
        HTTP_X_FORWARDED_PORT="4444",
        HTTP_X_CORRELATION_ID="tracking-me-123",
        REMOTE_ADDR="203.0.113.77",
    )
    entry = LogEntry.objects.get_for_object(handler).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == admin_user
    assert entry.remote_addr is None
    assert entry.remote_port is None
    assert entry.cid is None
