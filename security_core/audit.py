"""Every django-auditlog registration, each with an allow-list of fields.

Only fields named here ever reach ``LogEntry.changes``. Secrets (password hashes, sealed
TOTP keys, backup-code hashes) and everything encrypted are left out by construction:
auditlog diffs decrypted attribute values and its masking still shows half of a value, so
an allow-list is the only safe way. Later models register here too.
"""

from __future__ import annotations

from auditlog.registry import auditlog

from security_core.models import BackupCodeDevice, TOTPDevice, User

AUDITED_FIELDS: dict[type, list[str]] = {
    User: ["email", "display_name", "role", "is_active"],
    TOTPDevice: ["user", "name", "confirmed"],
    BackupCodeDevice: ["user", "name", "confirmed", "issued_at"],
}


def register() -> None:
    for model, fields in AUDITED_FIELDS.items():
        if not auditlog.contains(model):
            auditlog.register(model, include_fields=fields)
