"""The second factor holds: enrolment, no TOTP replay, sealed secrets, hashed single-use codes."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from datetime import timedelta
from importlib import import_module
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP

from security_core import backup_codes, selectors, services
from security_core.models import BackupCode, BackupCodeDevice, SecurityEvent, TOTPDevice, User
from security_core.roles import Role
from security_core.selectors import BACKUP_CODE_FAILURES_ALLOWED
from tests.conftest import service_request, stored_ciphertext
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CODE_PATTERN = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")


# --- helpers ---------------------------------------------------------------------------------


def _english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _sign_in_with_password(client: Client, user: User, **extra: Any) -> Any:
    return client.post(reverse("login"), {"username": user.email, "password": PASSWORD}, **extra)


def _enrolled_totp(user: User) -> TOTPDevice:
    """A confirmed authenticator for ``user``, as if they had enrolled earlier."""
    device = services.totp_device_begin(request=service_request(), user=user)
    device.confirmed = True
    device.save()
    return device


def _code(device: TOTPDevice, *, steps_from_now: int = 0) -> str:
    """The code the user's app shows ``steps_from_now`` time steps from now."""
    totp = TOTP(device.secret(), step=device.step, digits=device.digits)
    totp.time = time.time() + steps_from_now * device.step
    return f"{totp.token():0{device.digits}d}"


def _wrong_code(device: TOTPDevice) -> str:
    """Six digits that no step inside the tolerance window accepts."""
    near = {_code(device, steps_from_now=n) for n in range(-2, 3)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near)


def _shown_key(page: Any) -> bytes:
    """The key an enrolment page shows in text, decoded from its groups of base32."""
    shown = re.search(r"\b[A-Z2-7]{4}(?: [A-Z2-7]{1,4}){3,}\b", page.content.decode())
    assert shown is not None
    typed = shown.group(0).replace(" ", "")
    return base64.b32decode(typed + "=" * (-len(typed) % 8))


def _verify_request(user: User) -> Any:
    """A request at the verify step, with a session, for calling ``services`` directly."""
    request = RequestFactory().post(reverse("otp_verify"))
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request.user = user
    return request


def _rewind_throttle(device: TOTPDevice) -> None:
    """Let the device's back-off pass, as if the user had waited (the count is kept)."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
    )


def _raw_rows(model: Any, **where: Any) -> list[tuple[Any, ...]]:
    """Rows exactly as the database holds them, bypassing the ORM's field conversion."""
    table = model._meta.db_table
    columns = " AND ".join(f"{connection.ops.quote_name(k)} = %s" for k in where) or "1 = 1"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE {columns}", list(where.values()))  # noqa: S608
        return list(cursor.fetchall())


def _as_text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_shows_inline_svg_qr_code_and_the_key_in_groups(client, handler):
    _sign_in_with_password(client, handler)

    page = client.get(reverse("otp_enrol"))

    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body
    assert "<script" not in body.split("<svg", 1)[1].split("</svg>", 1)[0]
    device = TOTPDevice.objects.get(user=handler)
    assert device.confirmed is False
    assert _shown_key(page) == device.secret()


def test_unconfirmed_authenticator_does_not_count_as_a_second_factor(client, handler):
    _sign_in_with_password(client, handler)
    client.get(reverse("otp_enrol"))
    device = TOTPDevice.objects.get(user=handler)

    assert not selectors.has_confirmed_device(handler)
    # A valid code from the pending device does not pass the verify step ...
    response = client.post(reverse("otp_verify"), {"token": _code(device)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_enrol"))
    # ... and staff pages stay out of reach.
    assert client.get(reverse("home"))["Location"].startswith(reverse("otp_enrol"))


def test_wrong_code_leaves_the_authenticator_unconfirmed(client, handler):
    _sign_in_with_password(client, handler)
    client.get(reverse("otp_enrol"))
    device = TOTPDevice.objects.get(user=handler)

    response = client.post(reverse("otp_enrol"), {"token": _wrong_code(device)})

    assert response.status_code == 400
    device.refresh_from_db()
    assert device.confirmed is False
    assert not selectors.has_confirmed_device(handler)
    assert not BackupCode.objects.filter(device__user=handler).exists()
    assert client.get(reverse("home"))["Location"].startswith(reverse("otp_enrol"))


def test_enrolment_never_calls_the_right_code_wrong_after_a_typo(client, handler):
    """After one mistyped code, the right one is accepted or the page says to wait.

    Telling someone that the code their app shows right now is wrong sends them hunting
    for a fault that is not there.
    """
    _english(client)
    _sign_in_with_password(client, handler)
    client.get(reverse("otp_enrol"))
    device = TOTPDevice.objects.get(user=handler)
    assert client.post(reverse("otp_enrol"), {"token": _wrong_code(device)}).status_code == 400

    response = client.post(reverse("otp_enrol"), {"token": _code(device)})

    assert response.status_code in {200, 429}, "the right code was reported as wrong"
    if response.status_code == 429:
        assert "Wait" in response.content.decode()


def test_key_shown_to_another_session_never_becomes_the_users_authenticator(handler):
    """A stolen password may show the enrolment page before the real user enrols.

    The key shown to that other session must not be the one the user later confirms,
    or the thief keeps a working second factor for the account without anyone noticing.
    """
    thief, user = Client(), Client()
    _sign_in_with_password(thief, handler)
    thief_key = _shown_key(thief.get(reverse("otp_enrol")))

    _sign_in_with_password(user, handler)
    user_key = _shown_key(user.get(reverse("otp_enrol")))
    device = TOTPDevice.objects.get(user=handler, confirmed=False)
    assert device.secret() == user_key
    assert user.post(reverse("otp_enrol"), {"token": _code(device)}).status_code == 200

    stolen = TOTP(thief_key, step=30, digits=6)
    stolen.time = time.time() + 30  # a step the user has not used yet
    thief_again = Client()
    _sign_in_with_password(thief_again, handler)
    response = thief_again.post(reverse("otp_verify"), {"token": f"{stolen.token():06d}"})
    assert response.status_code != 302, "the thief's copy of the key passed the second factor"
    assert thief_key != user_key


def test_confirming_shows_ten_backup_codes_once_and_enrolment_then_redirects(client, handler):
    _sign_in_with_password(client, handler)
    client.get(reverse("otp_enrol"))
    device = TOTPDevice.objects.get(user=handler)

    response = client.post(reverse("otp_enrol"), {"token": _code(device)})

    assert response.status_code == 200
    codes = CODE_PATTERN.findall(response.content.decode())
    assert len(set(codes)) == 10
    for code in codes:
        assert BackupCode.objects.filter(
            device__user=handler, code_hash=backup_codes.hash_code(code), used_at__isnull=True
        ).exists()
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get(reverse("home")).status_code == 200  # enrolling passed the factor

    again = client.get(reverse("otp_enrol"))
    assert again.status_code == 302
    assert again["Location"] == reverse("account_security")
    # The codes are never shown again.
    security_page = client.get(reverse("account_security")).content.decode()
    assert not set(codes) & set(CODE_PATTERN.findall(security_page))
    assert TOTPDevice.objects.filter(user=handler).count() == 1


@pytest.mark.parametrize("existing", ["authenticator app", "backup codes"])
def test_stolen_password_cannot_reach_enrolment_of_a_user_with_a_device(client, handler, existing):
    if existing == "authenticator app":
        _enrolled_totp(handler)
    else:
        services.backup_codes_issue(user=handler)
    devices_before = TOTPDevice.objects.filter(user=handler).count()
    _sign_in_with_password(client, handler)

    for response in (
        client.get(reverse("otp_enrol")),
        client.post(reverse("otp_enrol"), {"token": "123456"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("otp_verify"))
        assert b"<svg" not in response.content
    assert TOTPDevice.objects.filter(user=handler).count() == devices_before
    assert not TOTPDevice.objects.filter(user=handler, confirmed=False).exists()


def test_reporter_without_a_device_is_not_asked_for_a_second_factor(client, reporter):
    response = _sign_in_with_password(client, reporter)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_reporter_who_enrolled_must_pass_the_second_factor(client, reporter):
    _enrolled_totp(reporter)

    response = _sign_in_with_password(client, reporter)

    assert response["Location"].startswith(reverse("otp_verify"))
    home = client.get(reverse("home"))
    assert home.status_code == 302
    assert home["Location"].startswith(reverse("otp_verify"))


# --- TOTP replay -----------------------------------------------------------------------------


def test_totp_code_accepted_once_is_refused_the_second_time(client, handler):
    device = _enrolled_totp(handler)
    code = _code(device)
    _sign_in_with_password(client, handler)
    assert client.post(reverse("otp_verify"), {"token": code}).status_code == 302
    client.post(reverse("logout"))

    # Same code, same 30-second step: someone who saw it over the shoulder tries it.
    attacker = Client()
    _sign_in_with_password(attacker, handler)
    response = attacker.post(reverse("otp_verify"), {"token": code})

    assert response.status_code == 400
    assert attacker.get(reverse("home"))["Location"].startswith(reverse("otp_verify"))
    assert SecurityEvent.objects.filter(user=handler, kind=SecurityEvent.Kind.OTP_FAILED).exists()


def test_totp_code_from_an_older_step_than_the_last_accepted_one_is_refused(client, handler):
    device = _enrolled_totp(handler)
    _sign_in_with_password(client, handler)
    assert client.post(reverse("otp_verify"), {"token": _code(device, steps_from_now=1)})[
        "Location"
    ] == reverse("home")

    for older in (0, -1):
        _rewind_throttle(device)  # a refusal is not a wait for the back-off
        other = Client()
        _sign_in_with_password(other, handler)
        response = other.post(reverse("otp_verify"), {"token": _code(device, steps_from_now=older)})
        assert response.status_code == 400, f"code from step {older}: {response.status_code}"
        assert other.get(reverse("home"))["Location"].startswith(reverse("otp_verify"))


def test_older_step_code_is_accepted_by_a_fresh_device(handler):
    """Control for the test above: the tolerance window does admit the previous step."""
    device = _enrolled_totp(handler)
    request = _verify_request(handler)

    assert services.otp_verify(
        request=request, user=handler, token=_code(device, steps_from_now=-1)
    )


def test_two_sequential_verifications_of_one_code_succeed_once(handler):
    device = _enrolled_totp(handler)
    code = _code(device)

    first = services.otp_verify(request=_verify_request(handler), user=handler, token=code)
    second = services.otp_verify(request=_verify_request(handler), user=handler, token=code)

    assert first is not None
    assert second is None
    device.refresh_from_db()
    assert device.last_t >= 0


def test_otp_verify_locks_the_device_rows_inside_its_transaction(handler):
    """Replay under concurrency is prevented by ``SELECT ... FOR UPDATE`` on the device rows.

    SQLite has no row locks, so here we prove the lock is asked for inside the transaction;
    the PostgreSQL test below proves it works.
    """
    device = _enrolled_totp(handler)
    codes = services.backup_codes_issue(user=handler)
    locked: list[tuple[type, bool]] = []
    original = QuerySet.select_for_update

    def spy(self: QuerySet[Any], *args: Any, **kwargs: Any) -> QuerySet[Any]:
        locked.append((self.model, connection.in_atomic_block))
        return original(self, *args, **kwargs)

    with mock.patch.object(QuerySet, "select_for_update", spy):
        assert services.otp_verify(
            request=_verify_request(handler), user=handler, token=_code(device)
        )
        assert services.otp_verify(request=_verify_request(handler), user=handler, token=codes[0])

    assert (TOTPDevice, True) in locked
    assert (BackupCodeDevice, True) in locked
    assert (BackupCode, True) in locked


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["authenticator app", "backup code"])
def test_two_concurrent_verifications_of_one_code_succeed_exactly_once(kind):
    user = UserFactory(role=Role.HANDLER)
    if kind == "authenticator app":
        code = _code(_enrolled_totp(user))
    else:
        code = services.backup_codes_issue(user=user)[0]
    barrier = threading.Barrier(2)
    results: dict[int, bool] = {}

    def attempt(i: int) -> None:
        try:
            me = User.objects.get(pk=user.pk)
            barrier.wait(timeout=10)
            results[i] = (
                services.otp_verify(request=_verify_request(me), user=me, token=code) is not None
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == [False, True]


# --- secrets at rest -------------------------------------------------------------------------


def test_totp_secret_is_not_stored_in_clear(client, handler):
    _sign_in_with_password(client, handler)
    client.get(reverse("otp_enrol"))
    device = TOTPDevice.objects.get(user=handler)
    secret = device.secret()
    assert len(secret) >= 16

    rows = _raw_rows(TOTPDevice, id=device.pk)
    assert len(rows) == 1
    stored = [_as_text(value) for value in rows[0]]
    b32 = base64.b32encode(secret).decode()
    forbidden = {
        secret.decode("latin-1"),
        secret.hex(),
        secret.hex().upper(),
        b32,
        b32.rstrip("="),
        b32.lower().rstrip("="),
        base64.b64encode(secret).decode(),
    }
    for value in stored:
        for clear in forbidden:
            assert clear not in value
    # The sealed column does hold the secret, only not readably: the test is not vacuous.
    assert len(stored_ciphertext(device)) > len(secret)
    assert secret not in stored_ciphertext(device)


# --- backup codes ----------------------------------------------------------------------------


def test_backup_codes_are_stored_only_as_keyed_hashes(handler):
    codes = services.backup_codes_issue(user=handler)
    device = BackupCodeDevice.objects.get(user=handler)

    code_rows = _raw_rows(BackupCode, device_id=device.pk)
    device_rows = _raw_rows(BackupCodeDevice, id=device.pk)
    assert len(code_rows) == 10
    stored = " | ".join(_as_text(v) for row in code_rows + device_rows for v in row)
    for code in codes:
        plain = code.replace("-", "")
        for form in (code, plain, code.lower(), plain.lower(), plain[:8], plain[4:]):
            assert form not in stored
        unkeyed = {hashlib.sha256(c.encode()).hexdigest() for c in (code, plain)}
        assert not unkeyed & set(stored.split(" | "))
    for code_hash in BackupCode.objects.filter(device=device).values_list("code_hash", flat=True):
        assert re.fullmatch(r"[0-9a-f]{64}", code_hash)


def test_backup_code_is_single_use(handler):
    codes = services.backup_codes_issue(user=handler)

    assert services.otp_verify(request=_verify_request(handler), user=handler, token=codes[3])
    assert (
        services.otp_verify(request=_verify_request(handler), user=handler, token=codes[3]) is None
    )
    assert BackupCode.objects.filter(device__user=handler, used_at__isnull=False).count() == 1


@pytest.mark.parametrize(
    "typed",
    [str.lower, lambda code: code.replace("-", ""), lambda code: code.lower().replace("-", " ")],
    ids=["lower case", "without dashes", "lower case with spaces"],
)
def test_backup_code_typed_loosely_still_works(client, handler, typed):
    codes = services.backup_codes_issue(user=handler)
    _sign_in_with_password(client, handler)

    response = client.post(reverse("otp_verify"), {"token": typed(codes[0])})

    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_issuing_new_backup_codes_invalidates_the_old_ones(client, handler):
    old = services.backup_codes_issue(user=handler)
    new = services.backup_codes_issue(user=handler)
    _sign_in_with_password(client, handler)

    assert client.post(reverse("otp_verify"), {"token": old[0]}).status_code == 400
    assert not BackupCode.objects.filter(code_hash=backup_codes.hash_code(old[0])).exists()
    assert client.post(reverse("otp_verify"), {"token": new[0]}).status_code == 302


def test_regenerating_backup_codes_from_account_page_invalidates_old_ones(client, handler):
    old = services.backup_codes_issue(user=handler)
    _sign_in_with_password(client, handler)
    client.post(reverse("otp_verify"), {"token": old[0]})

    page = client.post(reverse("backup_codes_regenerate"))

    assert page.status_code == 200
    new = CODE_PATTERN.findall(page.content.decode())
    assert len(set(new)) == 10
    assert not set(new) & set(old)
    request = _verify_request(handler)
    assert services.otp_verify(request=request, user=handler, token=old[1]) is None


@pytest.mark.parametrize("also_has_app", [False, True], ids=["codes only", "codes and app"])
def test_wrong_backup_codes_pause_that_address_but_never_lock_the_owner_out(
    client, handler, also_has_app
):
    if also_has_app:  # the usual state after enrolment
        _enrolled_totp(handler)
    codes = services.backup_codes_issue(user=handler)
    _english(client)
    _sign_in_with_password(client, handler, REMOTE_ADDR="203.0.113.66")

    for _ in range(BACKUP_CODE_FAILURES_ALLOWED):
        wrong = backup_codes.generate()
        response = client.post(reverse("otp_verify"), {"token": wrong}, REMOTE_ADDR="203.0.113.66")
        assert response.status_code == 400

    response = client.post(reverse("otp_verify"), {"token": codes[0]}, REMOTE_ADDR="203.0.113.66")

    assert response.status_code == 429
    assert "Wait" in response.content.decode()
    assert not BackupCode.objects.filter(used_at__isnull=False).exists()
    failures = SecurityEvent.objects.filter(user=handler, kind=SecurityEvent.Kind.OTP_FAILED)
    assert failures.count() == BACKUP_CODE_FAILURES_ALLOWED

    # The owner, elsewhere, is not locked out by someone guessing from another address.
    owner = Client()
    _sign_in_with_password(owner, handler, REMOTE_ADDR="198.51.100.20")
    assert (
        owner.post(
            reverse("otp_verify"), {"token": codes[0]}, REMOTE_ADDR="198.51.100.20"
        ).status_code
        == 302
    )

    # And the paused address may try again once the window has passed.
    failures.update(created_at=timezone.now() - timedelta(minutes=16))
    response = client.post(reverse("otp_verify"), {"token": codes[1]}, REMOTE_ADDR="203.0.113.66")
    assert response.status_code == 302


@pytest.mark.parametrize("also_has_codes", [False, True], ids=["app only", "app and codes"])
def test_wrong_totp_codes_slow_down_even_the_right_code_until_the_wait_passes(
    client, handler, also_has_codes
):
    device = _enrolled_totp(handler)
    if also_has_codes:  # the usual state after enrolment
        services.backup_codes_issue(user=handler)
    _english(client)
    _sign_in_with_password(client, handler)

    assert client.post(reverse("otp_verify"), {"token": _wrong_code(device)}).status_code == 400
    response = client.post(reverse("otp_verify"), {"token": _code(device)})

    assert response.status_code == 429
    assert "Wait" in response.content.decode()
    _rewind_throttle(device)
    assert client.post(reverse("otp_verify"), {"token": _code(device)}).status_code == 302


def test_making_new_backup_codes_keeps_the_session_verified(client, handler):
    codes = services.backup_codes_issue(user=handler)
    _sign_in_with_password(client, handler)
    assert client.post(reverse("otp_verify"), {"token": codes[0]}).status_code == 302

    assert client.post(reverse("backup_codes_regenerate")).status_code == 200
    assert client.get(reverse("home")).status_code == 200


def test_totp_back_off_keeps_doubling_so_codes_never_become_guessable_at_a_steady_rate(handler):
    device = _enrolled_totp(handler)
    for _ in range(16):
        device.throttle_increment(commit=False)
    device.throttling_failure_timestamp = timezone.now()
    allowed, details = device.verify_is_allowed()
    assert not allowed
    assert details["locked_until"] - timezone.now() > timedelta(hours=9)


def test_backup_codes_made_under_an_old_secret_key_work_while_it_is_a_fallback(
    client, handler, settings
):
    codes = services.backup_codes_issue(user=handler)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 60
    settings.SECRET_KEY_FALLBACKS = [old_key]
    request = _verify_request(handler)
    assert services.otp_verify(request=request, user=handler, token=codes[0]) is not None
    settings.SECRET_KEY_FALLBACKS = []
    request = _verify_request(handler)
    assert services.otp_verify(request=request, user=handler, token=codes[1]) is None
