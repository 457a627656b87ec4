"""Reads about accounts and their second factors, narrowed to one user."""

from __future__ import annotations

import math
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from security_core.models import BackupCode, BackupCodeDevice, SecurityEvent, TOTPDevice, User


def confirmed_totp_devices(user: User) -> QuerySet[TOTPDevice]:
    devices: QuerySet[TOTPDevice] = TOTPDevice.objects.filter(user=user, confirmed=True)
    return devices


def unused_backup_codes(user: User) -> QuerySet[BackupCode]:
    return BackupCode.objects.filter(
        device__user=user, device__confirmed=True, used_at__isnull=True
    )


def has_confirmed_device(user: User) -> bool:
    """Whether the user has ever enrolled a second factor that still stands.

    Used-up backup codes still count: a user who has enrolled must always pass a second
    factor, so a stolen password alone can never enrol a new device. An admin removes the
    old device when a user has lost it.
    """
    return (
        confirmed_totp_devices(user).exists()
        or BackupCodeDevice.objects.filter(user=user, confirmed=True).exists()
    )


def login_wait_seconds(*, username: str, ip_address: str | None) -> int:
    """Seconds this user-name-and-address pair must still wait before another try.

    After ``VARN_LOGIN_SLOWDOWN_AFTER`` failures within the cool-off each further try waits
    5 s, doubling up to five minutes; django-axes locks the pair at ``AXES_FAILURE_LIMIT``.
    axes keeps a row per user agent, so the failures of every row of the pair are summed:
    changing the User-Agent header buys nothing.
    """
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    totals = AccessAttempt.objects.filter(
        username=username, ip_address=ip_address, attempt_time__gte=since
    ).aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    failures: int = totals["failures"] or 0
    last = totals["last"]
    excess = failures - settings.VARN_LOGIN_SLOWDOWN_AFTER
    if last is None or excess < 0:
        return 0
    remaining: timedelta = last + timedelta(seconds=min(5 * 2**excess, 300)) - timezone.now()
    return max(0, math.ceil(remaining.total_seconds()))


BACKUP_CODE_FAILURES_ALLOWED = 10
BACKUP_CODE_WINDOW = timedelta(minutes=15)


def backup_code_wait(*, user: User, ip_address: str | None) -> int:
    """Seconds before this user may try a backup code again from this address.

    Ten wrong backup codes from one address within 15 minutes pause that address (not the
    user everywhere) until the oldest of them is 15 minutes old.
    """
    since = timezone.now() - BACKUP_CODE_WINDOW
    failures = list(
        SecurityEvent.objects.filter(
            kind=SecurityEvent.Kind.OTP_FAILED,
            user=user,
            ip_address=ip_address,
            detail="backup code",
            created_at__gte=since,
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:BACKUP_CODE_FAILURES_ALLOWED]
    )
    if len(failures) < BACKUP_CODE_FAILURES_ALLOWED:
        return 0
    remaining = failures[-1] + BACKUP_CODE_WINDOW - timezone.now()
    return max(1, math.ceil(remaining.total_seconds()))
