"""Rate limits that remember no address: short-lived counters in the cache, under keys that
are keyed hashes of the client's address (an IPv6 address counted as its /64).

Invariant: no address reaches the cache or any other store. The hashing key is random, made
afresh each day and kept only in the cache (shared by every process), so that even someone
holding the application's secrets cannot turn a counter's key back into an address once the
day's key has expired. Counters expire with their window.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from security_core.net import lockout_address

_DAY = 24 * 60 * 60


def _day_key() -> bytes:
    name = f"varn:rl:key:{timezone.localdate().isoformat()}"
    cache.add(name, secrets.token_bytes(32), timeout=_DAY + 3600)
    key: bytes | None = cache.get(name)
    return key or secrets.token_bytes(32)  # a cache that lost it: count afresh


def _hashed(value: str) -> str:
    return hmac.new(_day_key(), value.encode(), hashlib.sha256).hexdigest()[:32]


def client(request: HttpRequest) -> str:
    """The hashed counting key of the request's client."""
    return _hashed(f"client:{lockout_address(request) or 'unknown'}")


def subject(value: str) -> str:
    """The hashed counting key of something else than a client (e.g. a receipt look-up)."""
    return _hashed(f"subject:{value}")


def reached(key: str, *, scope: str, limit: int) -> bool:
    """Whether ``limit`` events are already counted in the current window (counting none)."""
    count = cache.get(f"varn:rl:{scope}:{key}")
    return isinstance(count, int) and count >= limit


def hit(key: str, *, scope: str, limit: int, window_seconds: int) -> bool:
    """Count one event now and say whether it is over ``limit`` within the window (which
    starts at the first event). Counting first makes parallel requests unable to slip past
    a check they all passed before any of them was counted."""
    name = f"varn:rl:{scope}:{key}"
    if cache.add(name, 1, timeout=window_seconds):
        return limit < 1
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window_seconds)
        count = 1
    return count > limit
