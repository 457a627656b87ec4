"""Rotate the key-encryption key: add a new active key, then re-wrap every data key under it.

    manage.py rotate_keys --new-key   # 1. put a new active key first in the ring file
    (restart web, worker and beat)    # 2. every process now reads the new ring
    manage.py rotate_keys             # 3. re-wrap whatever is not yet under the active key
    manage.py rotate_keys --status    # how many data keys each ring key wraps

Re-wrapping waits for step 2 on purpose: a process still holding the old ring cannot open
a data key wrapped under a key it does not know. The site keeps serving throughout:
records are never rewritten, only their small data-key rows, in short batches. When the
ring comes from the environment (``VARN_KEYRING``), this command cannot change it: it
prints the new key for the operator to put first in the secret store instead.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from security_core import crypto, services
from security_core.environment import encode_key, new_keyring
from security_core.models import DataKey


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.rotating")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    os.replace(tmp, path)


class Command(BaseCommand):
    help = "Add a new active key-encryption key and re-wrap every data key under it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-key", action="store_true", help="add a new active key first")
        parser.add_argument("--status", action="store_true", help="only report, change nothing")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["status"]:
            self._report()
            return
        if options["new_key"]:
            self._add_key()
            return
        count = services.data_keys_rewrap(batch_size=options["batch_size"])
        self.stdout.write(f"Re-wrapped {count} data keys under {crypto.active_key_id()}.")
        self._report()

    def _add_key(self) -> None:
        new_entry = new_keyring()
        new_id = new_entry.split(":", 1)[0]
        path: Path | None = settings.VARN_KEYRING_PATH
        if path is None:
            raise CommandError(
                "The key ring comes from the VARN_KEYRING environment variable, which this "
                "command cannot change. Put this new key first in VARN_KEYRING, before the "
                "keys already there, restart every process, then run 'manage.py rotate_keys':"
                f"\n{new_entry}"
            )
        current = ",".join(
            f"{key_id}:{encode_key(key)}" for key_id, key in crypto.keyring().items()
        )
        _write_private(path, f"{new_entry},{current}")
        self.stdout.write(
            f"Added key {new_id} to {path}; it is active for every process that starts from "
            "now on. Restart the web, worker and beat processes, then run "
            "'manage.py rotate_keys' to re-wrap every data key under it."
        )

    def _report(self) -> None:
        counts = Counter(DataKey.objects.values_list("kek_id", flat=True))
        ring = crypto.keyring()
        active = crypto.active_key_id()
        for key_id in ring:
            marker = " (active)" if key_id == active else ""
            self.stdout.write(f"  {key_id}{marker}: {counts.get(key_id, 0)} data keys")
        unknown = {key_id: n for key_id, n in counts.items() if key_id not in ring}
        for key_id, n in unknown.items():
            self.stdout.write(f"  {key_id} (NOT IN THE RING): {n} data keys cannot be opened")
        older = [key_id for key_id in ring if key_id != active]
        if older and not any(counts.get(key_id, 0) for key_id in older):
            self.stdout.write(
                "No data key needs the older keys any more. Restart every process with this "
                "ring and run rotate_keys once more (for keys made meanwhile); then "
                f"{', '.join(older)} can be removed from the ring."
            )
