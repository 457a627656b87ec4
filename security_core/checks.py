"""Deployment checks for what Django's own ``check --deploy`` does not know about."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security)
def varn_key_separation(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """The keys must differ: the blind-index key must not open anything, nor the audit key."""
    keys = {
        "VARN_BLIND_INDEX_KEY": settings.VARN_BLIND_INDEX_KEY,
        "VARN_AUDIT_KEY": settings.VARN_AUDIT_KEY,
        "VARN_RECEIPT_KEY": settings.VARN_RECEIPT_KEY,
        **{
            f"VARN_RECEIPT_KEY_FALLBACKS ({number})": key
            for number, key in enumerate(settings.VARN_RECEIPT_KEY_FALLBACKS, start=1)
        },
        **{f"VARN_KEYRING ({key_id})": key for key_id, key in settings.VARN_KEYRING.items()},
        "VARN_SECRET_KEY": settings.SECRET_KEY.encode(),
    }
    seen: dict[bytes, str] = {}
    problems: list[Any] = []
    for name, key in keys.items():
        if key in seen:
            problems.append(
                Error(
                    f"{name} is the same key as {seen[key]}.",
                    hint="Give each secret its own random value (manage.py generate_secrets).",
                    id="varn.E003",
                )
            )
        seen.setdefault(key, name)
    return problems


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
    if not settings.VARN_PAGER_WEBHOOK_URL:
        problems.append(
            Warning(
                "Pages to the duty officer are only recorded, not sent.",
                hint="Set VARN_PAGER_WEBHOOK_URL to the SMS or paging gateway.",
                id="varn.W003",
            )
        )
    elif not settings.VARN_PAGER_WEBHOOK_URL.startswith("https://"):
        problems.append(
            Warning(
                "Pages would go to the gateway unencrypted.",
                hint="Give VARN_PAGER_WEBHOOK_URL an https address.",
                id="varn.W006",
            )
        )
    elif len(settings.VARN_PAGER_WEBHOOK_SECRET) < 32:
        problems.append(
            Warning(
                "Pages are sent unsigned or with a short secret.",
                hint="Set VARN_PAGER_WEBHOOK_SECRET to at least 32 random characters.",
                id="varn.W004",
            )
        )
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        problems.append(
            Warning(
                "Rate limits are counted per process: the cache is not shared.",
                hint="Set VARN_CACHE_URL to the Redis cache (e.g. redis://redis:6379/1).",
                id="varn.W007",
            )
        )
    if not settings.VARN_SITE_URL.startswith("https://"):
        problems.append(
            Warning(
                "Links in notifications do not use https.",
                hint="Set VARN_SITE_URL to the site's https address.",
                id="varn.W005",
            )
        )
    return problems
