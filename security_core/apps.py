"""App configuration: audit registrations, signal receivers, system checks, admin site."""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class SecurityCoreConfig(AppConfig):
    name = "security_core"
    verbose_name = _("Accounts and security")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from security_core import audit, checks, receivers  # noqa: F401 - registers on import

        audit.register()


class VarnAdminConfig(AdminConfig):
    default_site = "security_core.admin_site.VarnAdminSite"
