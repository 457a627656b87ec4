"""A password alone reaches no staff URL, and the admin needs a second factor and an admin role."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from security_core import services
from security_core.roles import STAFF_ROLES, Role

pytestmark = pytest.mark.django_db

# Reachable after the password step alone: public pages and the steps of signing in.
PUBLIC = frozenset(
    {
        "start",
        "healthz",
        "login",
        "logout",
        "set_language",
        "otp_verify",
        "otp_enrol",
        "admin:login",  # only ever redirects to the site's own sign-in, or answers 404
        # The anonymous intake: for anyone, signed in or not; it opens no account's data.
        "anonymous_new",
        "anonymous_return",
        "anonymous_message",
        "anonymous_attachment",
    }
)


def _named_urls(patterns: Any = None, namespace: str = "") -> dict[str, str]:
    """Every named URL of the project that reverses without arguments, by full name."""
    found: dict[str, str] = {}
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found |= _named_urls(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}{pattern.name}"
            try:
                found[name] = reverse(name)
            except NoReverseMatch:
                continue  # needs arguments; the admin pages with ids are listed below
    return found


def _guarded_urls(user_pk: object) -> list[str]:
    urls = [url for name, url in _named_urls().items() if name not in PUBLIC]
    urls += [
        reverse("admin:app_list", kwargs={"app_label": "security_core"}),
        reverse("admin:security_core_user_change", args=[user_pk]),
        reverse("admin:security_core_user_history", args=[user_pk]),
        reverse("admin:auth_user_password_change", args=[user_pk]),
    ]
    return urls


def _lands_on(client: Client, method: str, url: str) -> str:
    """Where ``url`` sends the user: a path after redirects, or the status that stopped it.

    The admin's own login page hands over to the site's sign-in, which is allowed as one
    extra hop; any page answered before reaching the second factor counts as a leak.
    """
    response = getattr(client, method)(url)
    for _hop in range(2):
        if response.status_code not in {301, 302, 303, 307, 308}:
            return f"answered {response.status_code}"
        target = urlsplit(response["Location"])
        if target.path != reverse(settings.LOGIN_URL):
            return target.path
        response = client.get(f"{target.path}?{target.query}")
    return "too many redirects"


def test_the_url_list_covers_the_staff_pages_and_the_admin():
    names = _named_urls()
    assert names.keys() >= PUBLIC
    for name in (
        "home",
        "account_security",
        "backup_codes_regenerate",
        "admin:index",
        "admin:security_core_user_changelist",
        "admin:security_core_totpdevice_changelist",
        "admin:security_core_securityevent_changelist",
    ):
        assert name in names


@pytest.mark.parametrize("has_device", [False, True], ids=["no device", "enrolled"])
@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_staff_with_password_only_reaches_no_page_but_the_second_factor(
    client, make_user, signed_in, role, has_device
):
    user = make_user(role)
    if has_device:
        services.backup_codes_issue(user=user)
    signed_in(client, user, verified=False)
    expected = reverse("otp_verify" if has_device else "otp_enrol")

    wrong: list[str] = []
    for url in _guarded_urls(user.pk):
        for method in ("get", "post"):
            if (landed := _lands_on(client, method, url)) != expected:
                wrong.append(f"{method.upper()} {url} -> {landed}")
    assert not wrong, "\n".join(wrong)


def _follow(client: Client, url: str) -> Any:
    return client.get(url, follow=True)


@pytest.mark.parametrize(
    "role", sorted(STAFF_ROLES - {Role.ADMIN, Role.AUDITOR, Role.SECURITY_LEAD})
)
def test_verified_staff_without_admin_role_get_not_found_from_the_admin(
    client, make_user, signed_in, role
):
    user = make_user(role)
    signed_in(client, user, verified=True)

    for url in ("/admin/", "/admin/security_core/user/", f"/admin/security_core/user/{user.pk}/"):
        response = _follow(client, url)  # the test client raises on a redirect loop
        assert response.status_code == 404, url
        hops = [urlsplit(location).path for location, _status in response.redirect_chain]
        assert reverse(settings.LOGIN_URL) not in hops, "sent round the sign-in again"


def test_verified_reporter_gets_not_found_from_the_admin(client, reporter, signed_in):
    signed_in(client, reporter, verified=True)

    assert _follow(client, "/admin/").status_code == 404


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_verified_admin_and_auditor_reach_the_admin(client, make_user, signed_in, role):
    signed_in(client, make_user(role), verified=True)

    response = client.get("/admin/")

    assert response.status_code == 200


def test_verified_admin_reaches_the_user_list(client, admin_user, signed_in):
    signed_in(client, admin_user, verified=True)

    assert client.get("/admin/security_core/user/").status_code == 200


def test_admin_with_password_only_is_sent_to_the_second_factor(client, admin_user, signed_in):
    services.backup_codes_issue(user=admin_user)
    signed_in(client, admin_user, verified=False)

    for url in ("/admin/", "/admin/security_core/user/"):
        response = client.get(url)
        assert response.status_code == 302
        location = urlsplit(response["Location"])
        assert location.path == reverse("otp_verify")
        assert location.query == f"next={url.replace('/', '%2F')}"


def test_admin_without_a_device_is_sent_to_enrolment_not_the_admin(client, admin_user, signed_in):
    signed_in(client, admin_user, verified=False)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("otp_enrol")
