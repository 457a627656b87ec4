"""Deployment checks for what Django's own ``check --deploy`` does not know about."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def varn_deployment_checks(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if settings.VARN_ENV != "production":
        problems.append(
            Error(
                "VARN_ENV is not 'production'.",
                hint="Unset it or set it to production.",
                id="varn.E001",
            )
        )
    for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
        if not name.startswith("__Host-"):
            problems.append(Warning(f"Cookie {name} lacks the __Host- prefix.", id="varn.W001"))
    if settings.CELERY_TASK_ALWAYS_EAGER:
        problems.append(Error("Tasks run eagerly; set CELERY_BROKER_URL.", id="varn.E002"))
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append(
            Warning(
                "The database is not PostgreSQL; the audit trail's write protection needs it.",
                id="varn.W002",
            )
        )
    return problems
