"""A typed view of django-otp's per-request verification state."""

from __future__ import annotations

from typing import Any


def is_verified(user: Any) -> bool:
    """Whether this request's user has passed a second factor in this session.

    django-otp's ``OTPMiddleware`` adds ``is_verified()`` to the request's user; anything
    without it (an anonymous user, a user loaded outside a request) is not verified.
    """
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False
