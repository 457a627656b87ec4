"""Print fresh production secrets as environment lines for an operator's secret store."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from security_core.environment import production_secret_lines


class Command(BaseCommand):
    help = "Print new VARN_SECRET_KEY, VARN_KEYRING and VARN_AUDIT_KEY lines for production."

    def handle(self, *args: Any, **options: Any) -> None:
        for line in production_secret_lines():
            self.stdout.write(line)
