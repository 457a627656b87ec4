"""Fixtures shared by the whole suite: users of every role and ways to sign them in."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from security_core import services
from security_core.models import BackupCodeDevice, User
from security_core.roles import Role
from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: rate limits and quiet periods live there."""
    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def make_user(db):
    def make(role: Role = Role.REPORTER, **kwargs) -> User:
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def reporter(make_user) -> User:
    return make_user(Role.REPORTER, email="rut@example.se")


@pytest.fixture
def handler(make_user) -> User:
    return make_user(Role.HANDLER, email="hanna@example.se")


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user(Role.ADMIN, email="ada@example.se")


def sign_in(client: Client, user: User, *, verified: bool) -> list[str]:
    """Sign ``user`` in as if through both steps; returns their backup codes if verified."""
    client.force_login(user)
    session = client.session
    now = int(timezone.now().timestamp())
    session["varn_auth_at"] = now
    session["varn_seen_at"] = now
    codes: list[str] = []
    if verified:
        codes = services.backup_codes_issue(user=user)
        device = BackupCodeDevice.objects.get(user=user)
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return codes


@pytest.fixture
def signed_in():
    """``signed_in(client, user, verified=True)`` signs a user in on a test client."""
    return sign_in


def service_request(path: str = "/"):
    """A POST request with a fresh server-side session, for calling services directly."""
    from importlib import import_module

    from django.conf import settings
    from django.test import RequestFactory

    request = RequestFactory().post(path)
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    return request


def stored_ciphertext(device) -> bytes:
    """The TOTP key exactly as the database holds it."""
    raw = type(device).objects.filter(pk=device.pk).values_list("key", flat=True).get()
    return bytes(raw)


def enrol_totp(user: User):
    """A confirmed authenticator app for ``user``, enrolled through the services."""
    from django_otp.oath import TOTP

    request = service_request()
    device = services.totp_device_begin(request=request, user=user)
    token = f"{TOTP(device.secret()).token():06d}"
    confirmed = services.totp_device_confirm(user=user, token=token, request=request)
    assert confirmed is not None
    return confirmed
