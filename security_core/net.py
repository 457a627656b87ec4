"""The client's address, as far as the configured proxies let us know it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(candidate: str) -> str | None:
    try:
        return str(ipaddress.ip_address(candidate.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """``REMOTE_ADDR``, or with N trusted proxies the N-th ``X-Forwarded-For`` entry from the right.

    Each trusted proxy appends the address it saw, so only the right-most N entries are
    trustworthy; whatever a client writes into the header itself ends up further left and
    is ignored. A header shorter than N falls back to ``REMOTE_ADDR``.
    """
    proxies: int = settings.VARN_TRUSTED_PROXIES
    remote = _valid(request.META.get("REMOTE_ADDR", ""))
    if proxies <= 0:
        return remote
    chain = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part]
    if len(chain) < proxies:
        return remote
    return _valid(chain[-proxies]) or remote


def lockout_address(request: HttpRequest) -> str | None:
    """The address that failed sign-ins are counted against (django-axes' client address).

    An IPv4 address counts as itself; an IPv6 address counts as its /64, because one
    subscriber usually holds a whole /64 and could otherwise try from endless addresses.
    """
    address = client_ip(request)
    if address is None:
        return None
    parsed = ipaddress.ip_address(address)
    if parsed.version == 6 and parsed.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return address
