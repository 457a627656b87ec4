"""Rotate the key-encryption key in three steps, each safe while the site keeps serving.

    manage.py rotate_keys --new-key        # 1. add a new key at the END of the ring: every
    (restart web, worker and beat)         #    process can now open what it will wrap
    manage.py rotate_keys --activate ID    # 2. move it to the front: new data keys use it
    (restart web, worker and beat)
    manage.py rotate_keys                  # 3. re-wrap every data key under the active key
    manage.py rotate_keys --status         # how many data keys each ring key wraps

The first key of the ring is the active one, used for every new data key; the others only
open. A new key is therefore added last, so that no process can wrap a data key under a key
another process does not know yet; it becomes active only once every process has it.
Records are never rewritten, only their small data-key rows, in short batches. When the
ring comes from the environment (``VARN_KEYRING``), this command cannot change it: it says
what to change in the secret store instead, and prints only the new key.
"""

from __future__ import annotations

import os
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from security_core import crypto, services
from security_core.environment import encode_key, new_keyring
from security_core.models import DataKey


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically and durably with ``text`` (mode 0600): the ring may be
    the only copy of its keys, so a crash must leave either the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _ring_text(ring: dict[str, bytes]) -> str:
    return ",".join(f"{key_id}:{encode_key(key)}" for key_id, key in ring.items())


class Command(BaseCommand):
    help = "Add a key-encryption key, make it active, and re-wrap every data key under it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-key", action="store_true", help="add a key, not yet active")
        parser.add_argument("--activate", metavar="KEY_ID", help="make a ring key the active one")
        parser.add_argument("--status", action="store_true", help="only report, change nothing")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["status"]:
            self._report()
            return
        if options["new_key"]:
            self._add_key()
            return
        if options["activate"]:
            self._activate(options["activate"])
            return
        count = services.data_keys_rewrap(batch_size=options["batch_size"])
        self.stdout.write(f"Re-wrapped {count} data keys under {crypto.active_key_id()}.")
        self._report()

    def _ring_path(self, instruction: str) -> Path:
        path: Path | None = settings.VARN_KEYRING_PATH
        if path is None:
            raise CommandError(
                "The key ring comes from the VARN_KEYRING environment variable, which this "
                f"command cannot change. {instruction}"
            )
        return path

    def _add_key(self) -> None:
        new_entry = new_keyring()
        new_id = new_entry.split(":", 1)[0]
        path = self._ring_path(
            "Add this key at the END of VARN_KEYRING, restart every process, then run "
            f"'manage.py rotate_keys --activate {new_id}':\n{new_entry}"
        )
        _write_private(path, f"{_ring_text(crypto.keyring())},{new_entry}")
        self.stdout.write(
            f"Added key {new_id} to {path}, not yet active. Restart the web, worker and beat "
            f"processes, then run 'manage.py rotate_keys --activate {new_id}'."
        )

    def _activate(self, key_id: str) -> None:
        ring = crypto.keyring()
        if key_id not in ring:
            raise CommandError(f"Key {key_id} is not in the ring; add it with --new-key first.")
        path = self._ring_path(
            f"Move key {key_id} to the front of VARN_KEYRING, restart every process, then run "
            "'manage.py rotate_keys' to re-wrap."
        )
        reordered = {key_id: ring[key_id], **{k: v for k, v in ring.items() if k != key_id}}
        _write_private(path, _ring_text(reordered))
        self.stdout.write(
            f"Key {key_id} is now first in {path}. Restart the web, worker and beat processes, "
            "then run 'manage.py rotate_keys' to re-wrap every data key under it."
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
