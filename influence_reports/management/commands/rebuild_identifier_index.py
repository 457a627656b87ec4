"""Rebuild the perpetrator identifiers' blind indexes from the (decrypted) reports.

Run it after replacing ``VARN_BLIND_INDEX_KEY`` (every index made under the old key stops
matching until then), or once for reports filed before the index existed. It decrypts each
report's perpetrator fields in memory only; nothing in clear is written or printed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from influence_reports.services.reports import identifier_index_rebuild


class Command(BaseCommand):
    help = "Rebuild the blind indexes of perpetrator identifiers from the reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args: Any, **options: Any) -> None:
        count = identifier_index_rebuild(batch_size=options["batch_size"])
        self.stdout.write(f"Rebuilt the identifier indexes of {count} cases.")
