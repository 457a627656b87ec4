"""`make bench`: what Värn's own code costs, as ratios against a baseline timed in the same run.

Each line times a piece of Värn and a baseline doing the nearest plain thing, on the same
machine in the same process, and prints the ratio with its goal. Ratios, not seconds, so the
numbers mean the same on a fast laptop and a busy CI machine.
"""

from __future__ import annotations

import os
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["VARN_ENV"] = "test"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def best(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def report(name: str, subject: float, baseline: float, goal: float) -> bool:
    """Time of Värn's code over the baseline's; lower is better."""
    ratio = subject / baseline
    ok = ratio <= goal
    print(f"{name:<62} {ratio:6.2f}x  (goal <= {goal:g}x)  {'ok' if ok else 'OVER GOAL'}")
    return ok


def report_at_least(name: str, ratio: float, goal: float, unit: str = "x") -> bool:
    ok = ratio >= goal
    print(
        f"{name:<62} {ratio:6.2f}{unit}  (goal >= {goal:g}{unit})  {'ok' if ok else 'UNDER GOAL'}"
    )
    return ok


def report_at_most(name: str, value: float, goal: float, unit: str) -> bool:
    ok = value <= goal
    print(
        f"{name:<62} {value:6.1f} {unit}  (goal < {goal:g} {unit})  {'ok' if ok else 'OVER GOAL'}"
    )
    return ok


def file_encryption(results: list[bool]) -> None:
    """Attachment encryption: throughput against raw AES-GCM, and memory on a 500 MiB file."""
    import hashlib
    import tracemalloc

    from security_core import crypto, streaming

    key = crypto.subkey(crypto.new_data_key(), "file")
    chunk = os.urandom(1024 * 1024)
    data = chunk * 64
    binding = b"varn:file:bench"

    def ours() -> None:
        for _ in streaming.encrypt_stream(key, (chunk for _ in range(64)), binding=binding):
            pass

    def raw() -> None:
        AESGCM(key).encrypt(os.urandom(12), data, binding)

    results.append(
        report_at_least(
            "attachment encryption throughput vs raw AES-256-GCM",
            best(raw, 3) / best(ours, 3),
            goal=0.7,
        )
    )

    sink = hashlib.sha256()
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    for piece in streaming.encrypt_stream(key, (chunk for _ in range(500)), binding=binding):
        sink.update(piece)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results.append(
        report_at_most(
            "peak memory growth encrypting a 500 MiB stream",
            (peak - start) / (1024 * 1024),
            goal=64,
            unit="MiB",
        )
    )


def main() -> int:
    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    from django.conf import settings

    from security_core import backup_codes, crypto, services
    from tests.conftest import sign_in
    from tests.factories import UserFactory

    results = []

    # 1. Sealing a field under its record's data key against bare AES-256-GCM with that key.
    secret = os.urandom(64)
    aad = crypto.field_aad("influence_reports.report", "description", "bench")
    key = crypto.new_data_key()
    nonce = os.urandom(12)
    results.append(
        report(
            "seal + open a field vs bare AES-GCM encrypt + decrypt",
            best(
                lambda: crypto.open_field(key, crypto.seal_field(key, secret, aad=aad), aad=aad),
                2000,
            ),
            best(
                lambda: AESGCM(key).decrypt(nonce, AESGCM(key).encrypt(nonce, secret, aad), aad),
                2000,
            ),
            goal=3,
        )
    )

    # 2. A signed-in, second-factor-verified page against the public start page: both render
    #    the same layout through the whole middleware stack, so the ratio is the price of
    #    sessions, the second-factor gate, timeouts and the role-aware page.
    user = UserFactory(role="handler", email="bench@example.se")
    client = Client()
    sign_in(client, user, verified=True)
    public = Client()
    assert client.get("/home/").status_code == 200
    results.append(
        report(
            "signed-in, verified page vs public start page",
            best(lambda: client.get("/home/"), 50),
            best(lambda: public.get("/"), 50),
            goal=4,
        )
    )

    # 3. Checking a backup code (keyed hash + indexed look-up) against one plain HMAC.
    codes = services.backup_codes_issue(user=user)
    results.append(
        report(
            "hash a typed backup code vs one HMAC-SHA256",
            best(lambda: backup_codes.candidate_hashes(codes[3]), 2000),
            best(lambda: backup_codes._hash("0" * 12, settings.SECRET_KEY), 2000),
            goal=3,
        )
    )
    file_encryption(results)
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
