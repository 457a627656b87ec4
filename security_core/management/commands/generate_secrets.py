"""Print fresh production secrets as environment lines for an operator's secret store."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from security_core.environment import new_audit_key, new_keyring, new_secret_key


class Command(BaseCommand):
    help = "Print new VARN_SECRET_KEY, VARN_KEYRING and VARN_AUDIT_KEY lines. Nothing is stored."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"VARN_SECRET_KEY={new_secret_key()}")
        self.stdout.write(f"VARN_KEYRING={new_keyring()}")
        self.stdout.write(f"VARN_AUDIT_KEY={new_audit_key()}")
