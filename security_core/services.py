"""Writes about accounts, sessions and second factors; each records its security event."""

from __future__ import annotations

import base64
import logging
import secrets
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

import django_otp
from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.signals import user_login_failed
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device

from security_core import backup_codes, crypto, selectors
from security_core.models import (
    BackupCode,
    BackupCodeDevice,
    DataKey,
    SecurityEvent,
    TOTPDevice,
    TrackedSession,
    User,
)
from security_core.net import client_ip

logger = logging.getLogger(__name__)

TOTP_SECRET_BYTES = 20
BACKUP_CODE = "backup code"
AUTHENTICATOR_APP = "authenticator app"


def security_event_record(
    *,
    kind: SecurityEvent.Kind,
    user: User | None,
    request: HttpRequest | None = None,
    detail: str = "",
) -> SecurityEvent:
    """Record a sign-in related event. ``detail`` is a fixed phrase, never user input."""
    return SecurityEvent.objects.create(
        kind=kind,
        user=user,
        ip_address=client_ip(request) if request is not None else None,
        detail=detail[:200],
    )


def session_track(*, request: HttpRequest, user: User) -> None:
    """Remember that the request's current session belongs to ``user``."""
    request.session.save()  # a new session has no key until it is saved
    key = request.session.session_key
    if key is None:  # pragma: no cover - save() always assigns one
        raise RuntimeError("the session has no key after saving")
    TrackedSession.objects.update_or_create(session_key=key, defaults={"user": user})


def session_mark_authenticated(*, request: HttpRequest) -> None:
    """Start the idle and absolute clocks for a session that has just signed in."""
    now = int(timezone.now().timestamp())
    request.session["varn_auth_at"] = now
    request.session["varn_seen_at"] = now


def session_rotate(*, request: HttpRequest, user: User) -> None:
    """Give the session a new key (after the second factor), keeping its contents."""
    old_key = request.session.session_key
    request.session.cycle_key()
    if old_key:
        TrackedSession.objects.filter(session_key=old_key).delete()
    session_track(request=request, user=user)


@transaction.atomic
def user_sessions_end(*, user: User, request: HttpRequest | None = None) -> int:
    """End every server-side session of ``user`` at once (deactivation, lost device)."""
    keys = list(TrackedSession.objects.filter(user=user).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    TrackedSession.objects.filter(user=user).delete()
    security_event_record(kind=SecurityEvent.Kind.SESSIONS_ENDED, user=user, request=request)
    return len(keys)


ENROL_SESSION_KEY = "varn_enrol_device"


@transaction.atomic
def totp_device_begin(*, request: HttpRequest, user: User) -> TOTPDevice:
    """The pending authenticator of *this session*, made with a fresh secret if none.

    A pending secret belongs to the session that was shown it: a new session starting
    enrolment throws away every other pending device of the user, so a key copied by
    someone else (who had the password) can never become the user's authenticator.
    """
    pending_id = request.session.get(ENROL_SESSION_KEY)
    pending: TOTPDevice | None = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False, handle=pending_id)
        .first()
        if pending_id
        else None
    )
    if pending is not None:
        try:
            pending.secret()
        except crypto.DecryptionError:
            pending = None  # unreadable: start over with a fresh secret
        else:
            return pending
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice(user=user, name="Authenticator", confirmed=False)
    device.set_secret(secrets.token_bytes(TOTP_SECRET_BYTES))
    device.save()
    request.session[ENROL_SESSION_KEY] = str(device.handle)
    return device


def totp_pending_wait(*, request: HttpRequest, user: User) -> int:
    """Seconds until this session's pending authenticator accepts another code."""
    pending_id = request.session.get(ENROL_SESSION_KEY)
    if not pending_id:
        return 0
    device = TOTPDevice.objects.filter(user=user, confirmed=False, handle=str(pending_id)).first()
    return _wait_for([device]) if device is not None else 0


@transaction.atomic
def totp_device_confirm(*, user: User, token: str, request: HttpRequest) -> TOTPDevice | None:
    """Confirm this session's pending authenticator with a code from it; ``None`` if wrong."""
    pending_id = request.session.get(ENROL_SESSION_KEY)
    # The row lock makes two confirmations with the same code race for one success.
    device: TOTPDevice | None = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False, handle=pending_id)
        .first()
        if pending_id
        else None
    )
    if device is None or not device.verify_token(token):
        security_event_record(
            kind=SecurityEvent.Kind.OTP_FAILED, user=user, request=request, detail="enrolment"
        )
        return None
    device.confirmed = True
    device.save()
    request.session.pop(ENROL_SESSION_KEY, None)
    security_event_record(kind=SecurityEvent.Kind.TOTP_ENROLLED, user=user, request=request)
    return device


@transaction.atomic
def backup_codes_issue(*, user: User, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's backup codes with a fresh set and return them, to be shown once.

    The device itself is kept, so a session verified with it stays verified.
    """
    device, _created = BackupCodeDevice.objects.select_for_update().get_or_create(
        user=user, defaults={"name": "Backup codes", "confirmed": True}
    )
    device.codes.all().delete()
    if not _created:
        device.issued_at = timezone.now()
        device.save()  # audited (issued_at), so replacing the codes leaves a trace
    codes = [backup_codes.generate() for _ in range(settings.VARN_BACKUP_CODE_COUNT)]
    BackupCode.objects.bulk_create(
        BackupCode(device=device, code_hash=backup_codes.hash_code(code)) for code in codes
    )
    security_event_record(kind=SecurityEvent.Kind.BACKUP_CODES_ISSUED, user=user, request=request)
    return codes


def _device_model_for(token: str) -> type[TOTPDevice] | type[BackupCodeDevice]:
    """Six digits are a code from an app; anything else is tried as a backup code."""
    return TOTPDevice if "".join(token.split()).isdigit() else BackupCodeDevice


def _wait_for(devices: Iterable[TOTPDevice]) -> int:
    waits = []
    for device in devices:
        allowed, details = device.verify_is_allowed()
        if allowed:
            return 0
        locked_until = (details or {}).get("locked_until")
        if locked_until is not None:
            waits.append(max(1, int((locked_until - timezone.now()).total_seconds()) + 1))
    return min(waits, default=0)


def otp_throttle_wait(*, request: HttpRequest, user: User, token: str) -> int:
    """Seconds until a code of the kind ``token`` is may be tried again (0: now)."""
    if _device_model_for(token) is BackupCodeDevice:
        return selectors.backup_code_wait(user=user, ip_address=client_ip(request))
    return _wait_for(TOTPDevice.objects.filter(user=user, confirmed=True))


@transaction.atomic
def otp_verify(*, request: HttpRequest, user: User, token: str) -> Device | None:
    """Check a second-factor code; on success bind the device to a freshly keyed session.

    A six-digit code is tried against the user's authenticator apps, anything else against
    their backup codes. Devices are locked while checked, so a code cannot be replayed by a
    concurrent request.
    """
    cleaned = "".join(token.split())
    model = _device_model_for(cleaned)
    verified: Device | None = None
    manager: Any = model.objects
    devices = manager.select_for_update().filter(user=user, confirmed=True)
    for device in devices:
        if device.verify_token(cleaned):
            verified = device
            break
    if verified is None:
        security_event_record(
            kind=SecurityEvent.Kind.OTP_FAILED,
            user=user,
            request=request,
            detail=BACKUP_CODE if model is BackupCodeDevice else AUTHENTICATOR_APP,
        )
        return None
    otp_verify_device_login(request=request, user=user, device=verified)
    return verified


def otp_verify_device_login(*, request: HttpRequest, user: User, device: Device) -> None:
    """Mark the session as passed the second factor with ``device``, under a new key."""
    django_otp.login(request, device)
    session_rotate(request=request, user=user)
    security_event_record(
        kind=SecurityEvent.Kind.OTP_SUCCEEDED,
        user=user,
        request=request,
        detail=BACKUP_CODE if isinstance(device, BackupCodeDevice) else AUTHENTICATOR_APP,
    )


def session_forget(*, request: HttpRequest) -> None:
    """Stop tracking the request's session (it is about to be flushed)."""
    if request.session.session_key:
        TrackedSession.objects.filter(session_key=request.session.session_key).delete()


def totp_key_text(secret: bytes) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    encoded = base64.b32encode(secret).decode("ascii").rstrip("=")
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def totp_provisioning_uri(*, device: TOTPDevice, secret: bytes) -> str:
    issuer = settings.VARN_SITE_NAME
    label = quote(f"{issuer}:{device.user.email}")
    query = urlencode(
        {
            "secret": base64.b32encode(secret).decode("ascii").rstrip("="),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": device.digits,
            "period": device.step,
        }
    )
    return f"otpauth://totp/{label}?{query}"


@transaction.atomic
def user_password_change(
    *, user: User, new_password: str | None, request: HttpRequest, keep_current_session: bool
) -> None:
    """Set a new password (``None``: no password sign-in at all) and end other sessions.

    The caller has validated ``new_password``. When the user changes their own password the
    current session is kept under a new key; when an admin sets it, every session ends.
    """
    if new_password is None:
        user.set_unusable_password()
    else:
        user.set_password(new_password)
    user.save(update_fields=["password"])
    current = request.session.session_key if keep_current_session else None
    others = TrackedSession.objects.filter(user=user).exclude(session_key=current)
    Session.objects.filter(session_key__in=others.values("session_key")).delete()
    others.delete()
    if keep_current_session:
        update_session_auth_hash(request, user)  # also gives the session a new key
        TrackedSession.objects.filter(session_key=current).delete()
        session_track(request=request, user=user)
    security_event_record(
        kind=SecurityEvent.Kind.PASSWORD_CHANGED,
        user=user,
        request=request,
        detail=(
            "by the user"
            if keep_current_session
            else "disabled by an administrator"
            if new_password is None
            else "by an administrator"
        ),
    )


def password_check_failed(*, request: HttpRequest, user: User) -> None:
    """Count a wrong current password (on the change form) as a failed sign-in.

    django-axes and the slow-down then treat guessing through the form exactly like
    guessing at the sign-in page.
    """
    user_login_failed.send(sender=__name__, credentials={"username": user.email}, request=request)
    security_event_record(
        kind=SecurityEvent.Kind.LOGIN_FAILED, user=user, request=request, detail="password change"
    )


@transaction.atomic
def sessions_clear_expired() -> int:
    """Remove expired server-side sessions and tracking rows whose session is gone."""
    Session.objects.filter(expire_date__lt=timezone.now()).delete()
    orphans = TrackedSession.objects.exclude(session_key__in=Session.objects.values("session_key"))
    count, _details = orphans.delete()
    return count


def data_keys_rewrap(*, batch_size: int = 500, max_batches: int | None = None) -> int:
    """Re-wrap data keys that are not under the active ring key; returns how many.

    Works in short transactions of ``batch_size`` rows, each row locked while it is
    re-wrapped (rows another rotation holds are skipped, on PostgreSQL), so the site keeps
    serving: a reader always finds its data key wrapped under a key that is in the ring.
    A row that does not open (damaged) is skipped and logged, never blocks the rest; keys
    wrapped under a ring key that is no longer configured are left alone. ``rotate_keys
    --status`` reports both.
    """
    ring = crypto.keyring()
    active = crypto.active_key_id()
    older = [key_id for key_id in ring if key_id != active]
    total = batches = damaged = 0
    after: uuid.UUID | None = None
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            rows = DataKey.objects.select_for_update(skip_locked=True).filter(kek_id__in=older)
            if after is not None:
                rows = rows.filter(id__gt=after)
            batch = list(rows.order_by("id")[:batch_size])
            if not batch:
                break
            rewrapped = []
            for data_key in batch:
                try:
                    data_key.rewrap()
                except crypto.DecryptionError:
                    damaged += 1
                    continue
                rewrapped.append(data_key)
            DataKey.objects.bulk_update(rewrapped, ["kek_id", "wrapped", "rewrapped_at"])
        after = batch[-1].id
        total += len(rewrapped)
        batches += 1
    if damaged:
        logger.warning("Key rotation skipped %d data keys that do not open.", damaged)
    return total
