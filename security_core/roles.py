"""The one Role enum: every account has exactly one role, assigned by a system admin."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REPORTER = "reporter", _("Reporter (elected representative or official)")
    HANDLER = "handler", _("Security officer (case handler)")
    DUTY_OFFICER = "duty_officer", _("Duty officer (TiB)")
    SECURITY_LEAD = "security_lead", _("Head of security")
    LEADERSHIP = "leadership", _("Leadership or analyst")
    COMMUNICATIONS = "communications", _("Communications officer on call (KiB)")
    AUDITOR = "auditor", _("Auditor or data-protection officer")
    ADMIN = "admin", _("System administrator")


STAFF_ROLES = frozenset(Role) - {Role.REPORTER}
