"""Every django-auditlog registration, each with an allow-list of fields.

Only fields named here ever reach ``LogEntry.changes``. Secrets (password hashes, sealed
TOTP keys, backup-code hashes) and everything encrypted are left out by construction:
auditlog diffs decrypted attribute values and its masking still shows half of a value, so
an allow-list is the only safe way. Later models register here too.
"""

from __future__ import annotations

from auditlog.registry import auditlog
from django.db import models

from security_core.models import BackupCodeDevice, TOTPDevice, User


def audited_fields() -> dict[type[models.Model], list[str]]:
    from influence_reports.models import (
        Attachment,
        Case,
        CaseEvent,
        CaseLink,
        CaseNote,
        Election,
        Message,
        PoliceReferral,
        ProtectiveMeasure,
        Recusal,
        Report,
        RiskAssessment,
        RosterEntry,
    )

    return {
        User: ["email", "display_name", "role", "is_active"],
        TOTPDevice: ["user", "name", "confirmed"],
        BackupCodeDevice: ["user", "name", "confirmed", "issued_at"],
        # Reports: only the metadata stored in clear; never an encrypted field.
        Report: [
            "reference",
            "reporter",
            "submitted_at",
            "withdrawn_at",
            "is_acute",
            "needs_support",
            "media_interest",
            "police_reported",
        ],
        Attachment: ["report", "uploaded_by", "size"],
        Case: [
            "report",
            "status",
            "assignee",
            "acknowledge_by",
            "acknowledged_at",
            "feedback_by",
            "feedback_given_at",
            "closed_at",
            "closed_reason",
            "risk_level",
        ],
        # The reason of an event is encrypted, and stays out.
        CaseEvent: ["case", "kind", "actor", "from_status", "to_status", "subject"],
        Recusal: ["case", "user", "recorded_by"],
        RiskAssessment: [
            "case",
            "assessor",
            "targeted",
            "credibility",
            "specificity",
            "capacity",
            "history",
            "imminence",
            "level",
        ],
        ProtectiveMeasure: [
            "case",
            "kind",
            "owner",
            "due_date",
            "status",
            "completed_at",
            "updated_by",
            "updated_at",
        ],
        PoliceReferral: [
            "case",
            "referred_on",
            "restricted_access_requested",
            "status",
            "updated_by",
            "updated_at",
        ],
        CaseNote: ["case", "author"],
        Message: ["case", "side", "author", "sent_at"],  # never the body
        CaseLink: ["from_case", "to_case", "created_by"],
        RosterEntry: ["duty", "weekday", "starts", "ends", "user"],
        Election: ["kind", "year", "polling_day", "months_before", "months_after"],
    }


def register() -> None:
    for model, fields in audited_fields().items():
        if not auditlog.contains(model):
            auditlog.register(model, include_fields=fields)
