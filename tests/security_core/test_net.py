"""The client address is what the configured proxies saw, never what the client claims.

Proves ``security_core.net.client_ip`` for zero, one and two trusted proxies, and that an
attacker who varies a forged ``X-Forwarded-For`` still counts against one user-and-address
pair in the sign-in lockout.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from security_core.net import client_ip

PROXY = "10.0.0.1"
CLIENT = "203.0.113.7"


def _request(remote_addr: str = PROXY, forwarded_for: str | None = None):
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr)
    if forwarded_for is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return request


def test_without_proxies_the_socket_address_is_used_even_when_forwarded_for_is_forged(settings):
    settings.VARN_TRUSTED_PROXIES = 0

    assert client_ip(_request(CLIENT, "198.51.100.1")) == CLIENT
    assert client_ip(_request(CLIENT, f"198.51.100.1, {PROXY}")) == CLIENT
    assert client_ip(_request(CLIENT)) == CLIENT


def test_with_one_proxy_the_address_it_appended_is_used(settings):
    settings.VARN_TRUSTED_PROXIES = 1

    assert client_ip(_request(PROXY, CLIENT)) == CLIENT


def test_with_one_proxy_an_entry_forged_by_the_client_is_ignored(settings):
    settings.VARN_TRUSTED_PROXIES = 1

    # The client sent "X-Forwarded-For: 198.51.100.1"; the proxy appended what it saw.
    assert client_ip(_request(PROXY, f"198.51.100.1, {CLIENT}")) == CLIENT
    assert client_ip(_request(PROXY, f"127.0.0.1,10.0.0.9 , {CLIENT}")) == CLIENT


def test_with_two_proxies_the_second_entry_from_the_right_is_used(settings):
    settings.VARN_TRUSTED_PROXIES = 2

    assert client_ip(_request(PROXY, f"{CLIENT}, 10.0.0.2")) == CLIENT
    assert client_ip(_request(PROXY, f"198.51.100.1, 192.0.2.44, {CLIENT}, 10.0.0.2")) == CLIENT


@pytest.mark.parametrize(("proxies", "header"), [(1, ""), (2, CLIENT), (3, f"{CLIENT}, 10.0.0.2")])
def test_forwarded_for_shorter_than_the_proxy_chain_falls_back_to_the_socket_address(
    settings, proxies, header
):
    settings.VARN_TRUSTED_PROXIES = proxies

    assert client_ip(_request(PROXY, header)) == PROXY


def test_missing_forwarded_for_behind_a_proxy_falls_back_to_the_socket_address(settings):
    settings.VARN_TRUSTED_PROXIES = 1

    assert client_ip(_request(PROXY)) == PROXY


@pytest.mark.parametrize(
    "header",
    [
        "not-an-address",
        "203.0.113.7, evil.example",
        "203.0.113.7, 999.1.1.1",
        "203.0.113.7, <script>",
        "203.0.113.7, 10.0.0.9:443",
        "203.0.113.7,  ",
    ],
)
def test_garbage_in_the_trusted_position_is_ignored(settings, header):
    settings.VARN_TRUSTED_PROXIES = 1

    assert client_ip(_request(PROXY, header)) == PROXY


def test_garbage_socket_address_gives_no_address(settings):
    settings.VARN_TRUSTED_PROXIES = 0

    assert client_ip(_request("not-an-address", CLIENT)) is None


def test_addresses_are_returned_in_one_canonical_spelling(settings):
    settings.VARN_TRUSTED_PROXIES = 1

    assert client_ip(_request(PROXY, " 2001:DB8:0:0::1 ")) == "2001:db8::1"


@pytest.mark.django_db
def test_forged_forwarded_for_does_not_reset_the_sign_in_lockout(client, handler, settings):
    settings.VARN_TRUSTED_PROXIES = 1
    settings.VARN_LOGIN_SLOWDOWN_AFTER = 1000  # isolate the lockout from the slowdown
    limit = settings.AXES_FAILURE_LIMIT

    for attempt in range(limit):
        client.post(
            reverse("login"),
            {"username": handler.email, "password": "wrong-password-attempt"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt + 1}, {CLIENT}",
        )

    attempts = AccessAttempt.objects.filter(username=handler.email)
    assert attempts.count() == 1
    assert attempts.get().ip_address == CLIENT
    assert attempts.get().failures_since_start == limit

    # Even the right password, with yet another forged entry, is refused from that address.
    response = client.post(
        reverse("login"),
        {"username": handler.email, "password": "Correct-Horse-Battery-Staple-42"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"192.0.2.200, {CLIENT}",
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_lockout_from_one_address_does_not_lock_the_user_out_from_another(
    client, handler, password, settings
):
    settings.VARN_TRUSTED_PROXIES = 1
    settings.VARN_LOGIN_SLOWDOWN_AFTER = 1000
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": handler.email, "password": "wrong-password-attempt"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=CLIENT,
        )

    response = client.post(
        reverse("login"),
        {"username": handler.email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="192.0.2.10",
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_enrol"))


def test_ipv6_failures_count_per_64_so_a_subscriber_cannot_rotate_addresses(client, settings):
    from django.test import RequestFactory

    from security_core.net import lockout_address

    settings.VARN_TRUSTED_PROXIES = 0
    one = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2::1")
    other = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:ffff:ffff:ffff:fffe")
    neighbour = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:3::1")
    v4 = RequestFactory().get("/", REMOTE_ADDR="203.0.113.5")
    assert lockout_address(one) == lockout_address(other) == "2001:db8:1:2::"
    assert lockout_address(neighbour) != lockout_address(one)
    assert lockout_address(v4) == "203.0.113.5"
