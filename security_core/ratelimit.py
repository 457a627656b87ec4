"""Rate limits that remember no address: short-lived counters in the cache, under keys that
are keyed hashes of the client's address with a key that changes every day.

Invariant: no address, and nothing from which an address can be recovered without the
day's key (derived from ``VARN_RECEIPT_KEY``, never stored), reaches the cache or any
other store. The counters expire with their window.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from security_core.net import client_ip


def _client_key(request: HttpRequest) -> str:
    day = timezone.localdate().isoformat()
    key: bytes = settings.VARN_RECEIPT_KEY
    address = client_ip(request) or "unknown"
    return hmac.new(key, f"varn:ratelimit:{day}:{address}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


def _key(request: HttpRequest, scope: str) -> str:
    return f"varn:rl:{scope}:{_client_key(request)}"


def blocked(request: HttpRequest, *, scope: str, limit: int) -> bool:
    """Whether this client has used up ``limit`` events of ``scope`` in the current window."""
    count: int = cache.get(_key(request, scope), 0)
    return count >= limit


def record(request: HttpRequest, *, scope: str, window_seconds: int) -> None:
    """Count one event of ``scope`` for this client; the window starts at the first one."""
    key = _key(request, scope)
    if not cache.add(key, 1, timeout=window_seconds):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window_seconds)
