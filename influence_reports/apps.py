"""App configuration for the domain app."""

from __future__ import annotations

from django.apps import AppConfig


class InfluenceReportsConfig(AppConfig):
    name = "influence_reports"
    verbose_name = "Influence reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from influence_reports import receivers  # noqa: F401 - connects on import
