"""How many anonymous receipts each receipt key still holds, during a rotation of
``VARN_RECEIPT_KEY`` (see ``influence_reports.receipts``). Prints key names, never keys."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Count

from influence_reports import receipts
from influence_reports.models import AnonymousReceipt


class Command(BaseCommand):
    help = "Count the anonymous receipts under the current and each fallback receipt key."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = dict(
            AnonymousReceipt.objects.values_list("key_id").annotate(n=Count("pk")).order_by()
        )
        named = {receipts.key_id(): "current key"} | {
            receipts.key_id(key): f"fallback {number}"
            for number, key in enumerate(settings.VARN_RECEIPT_KEY_FALLBACKS, start=1)
        }
        for name_id, label in named.items():
            self.stdout.write(f"{label} ({name_id}): {counts.pop(name_id, 0)} receipts")
        for name_id, count in counts.items():
            self.stdout.write(
                f"a key no longer configured ({name_id or 'unknown'}): {count} receipts, "
                "which cannot be opened"
            )
