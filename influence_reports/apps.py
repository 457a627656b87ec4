"""App configuration for the domain app."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InfluenceReportsConfig(AppConfig):
    name = "influence_reports"
    verbose_name = _("Reports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from influence_reports import receivers  # noqa: F401 - connects on import
