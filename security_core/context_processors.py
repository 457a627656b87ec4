"""What every template may ask about the signed-in user: capabilities, never data."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from security_core import permissions, selectors
from security_core.otp import is_verified


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    verified = bool(signed_in and is_verified(user))
    # Between the password and the code, the menu shows only "sign out", for everyone.
    owes_code = (
        signed_in
        and not verified
        and permissions.requires_second_factor(
            user,
            has_device=selectors.has_confirmed_device(user),  # type: ignore[arg-type]
        )
    )
    return {
        "site_name": settings.VARN_SITE_NAME,
        "nav": {
            "signed_in": signed_in,
            "verified": verified,
            "owes_code": owes_code,
            "is_staff": permissions.is_staff_role(user),
            "can_file_report": permissions.can_file_report(user),
            "can_work_cases": permissions.can_work_cases(user),
            "can_view_trends": permissions.can_view_trends(user),
            "can_use_admin": permissions.can_use_admin(user) and verified,
        },
    }
