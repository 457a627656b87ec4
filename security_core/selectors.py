"""Reads about accounts and their second factors, narrowed to one user."""

from __future__ import annotations

from django.db.models import QuerySet

from security_core.models import BackupCode, BackupCodeDevice, TOTPDevice, User


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
