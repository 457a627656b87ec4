"""Create one demo account per role (development only) and print how to sign in.

The first run makes the accounts with random passwords and backup codes and keeps them in
``var/demo-accounts.json`` (mode 0600, git-ignored); later runs keep the data and print the
same accounts again, marking backup codes that have been used.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from security_core import backup_codes, services
from security_core.models import BackupCode, User
from security_core.roles import Role

DEMO_ACCOUNTS = [
    ("reporter@demo.varn.test", "Rut Rapportör", Role.REPORTER),
    ("reporter2@demo.varn.test", "Rolf Rapportör", Role.REPORTER),
    ("handler@demo.varn.test", "Hanna Handläggare", Role.HANDLER),
    ("tib@demo.varn.test", "Tore i Beredskap", Role.DUTY_OFFICER),
    ("security-lead@demo.varn.test", "Sara Säkerhetschef", Role.SECURITY_LEAD),
    ("leadership@demo.varn.test", "Lena Ledning", Role.LEADERSHIP),
    ("auditor@demo.varn.test", "Anders Revisor", Role.AUDITOR),
    ("admin@demo.varn.test", "Ada Administratör", Role.ADMIN),
    ("kib@demo.varn.test", "Kim i Beredskap", Role.COMMUNICATIONS),
]


def _password() -> str:
    words = secrets.token_urlsafe(12)
    return f"Demo-{words}"


class Command(BaseCommand):
    help = "Create the demo accounts (development only) and print their sign-in details."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.VARN_ENV == "production":
            raise CommandError("Demo data is never loaded in production.")
        path = settings.VAR_DIR / "demo-accounts.json"
        saved: dict[str, dict[str, Any]] = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        )
        with transaction.atomic():
            for email, name, role in DEMO_ACCOUNTS:
                if User.objects.filter(email=email).exists() and email in saved:
                    continue
                password = _password()
                user, _created = User.objects.update_or_create(
                    email=email, defaults={"display_name": name, "role": role, "is_active": True}
                )
                user.set_password(password)
                user.save()
                codes = services.backup_codes_issue(user=user)
                saved[email] = {"password": password, "codes": codes, "role": role.value}
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when an older file was left readable by others
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(saved, handle, ensure_ascii=False, indent=2)
        self._print(saved)

    def _print(self, saved: dict[str, dict[str, Any]]) -> None:
        unused = set(
            BackupCode.objects.filter(used_at__isnull=True).values_list("code_hash", flat=True)
        )
        self.stdout.write("")
        self.stdout.write("Demo accounts (development only; kept in var/demo-accounts.json):")
        for email, _name, role in DEMO_ACCOUNTS:
            entry = saved[email]
            self.stdout.write(f"  {role.label}")
            self.stdout.write(f"    e-mail:   {email}")
            self.stdout.write(f"    password: {entry['password']}")
            codes = [
                code if backup_codes.hash_code(code) in unused else f"{code} (used or replaced)"
                for code in entry["codes"]
            ]
            self.stdout.write(f"    backup codes: {', '.join(codes[:5])}")
            self.stdout.write(f"                  {', '.join(codes[5:])}")
        self.stdout.write("")
        self.stdout.write(
            "Sign in at http://127.0.0.1:8000/login/ with an e-mail and password, then a backup "
            "code; staff can then add an authenticator app."
        )
