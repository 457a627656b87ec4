"""`make bench`, the trends section: the leadership's trends page at 10k and at 1M reports,
and the full rebuild of the trend cells at 1M.

Each size has a database of its own, filled by ``influence_reports.synthetic`` (two years
and the previous election's period, as ``generate_trend_history`` makes them), its cells
rebuilt and its figures published; the page is then read by a signed-in, second-factor
verified leadership user. Django settles its database at start-up, so each size is measured
in a child process (this file, run as a script) given its own ``DATABASE_URL``; the child
prints its timings as one JSON line.

A million reports take minutes to generate, so that database is kept and reused by later
runs: on SQLite the file ``var/bench/trends-1m-v<generator version>-s<seed>.sqlite3``, on
PostgreSQL the database ``<name>_trends_1m`` beside the bench's own. A table of the bench's
marks it complete; one made by another version or seed, or whose data keys no longer open
under the key ring, is made afresh. Delete the file (or drop the database) to regenerate.

Only this section: ``VARN_BENCH_ONLY=trends make bench``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED = 1809
SIZES = (("10k", 10_000), ("1m", 1_000_000))
CACHED = frozenset({"1m"})
PAGE_ROUNDS = 15
BATCH = 20_000  # reports a transaction: at 1M, a third faster than 5,000 on SQLite
MARKER = "varn_bench_trends"  # the table that marks a generated database complete
STALE = 3  # the child's exit status for a database to be made afresh


# --- The child: one database, one size -----------------------------------------------------


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["VARN_ENV"] = "test"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()


def _marker() -> dict[str, Any] | None:
    from django.db import connection

    if MARKER not in connection.introspection.table_names():
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT info FROM {MARKER}")  # noqa: S608 - our own table
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


def _keys_open() -> bool:
    """Whether the data keys were wrapped under this key ring (one is tried)."""
    from security_core import crypto
    from security_core.models import DataKey

    key = DataKey.objects.order_by("pk").first()
    if key is None:
        return True
    try:
        crypto.unwrap_data_key(key.kek_id, bytes(key.wrapped), data_key_id=key.pk)
    except crypto.DecryptionError:
        return False
    return True


def _generate(reports: int) -> dict[str, Any]:
    """Fill the (empty) database with about ``reports`` reports; what was made, and how long."""
    from django.db import connection
    from django.utils import timezone

    from influence_reports import synthetic
    from influence_reports.models import Report

    until = timezone.localdate()
    windows = synthetic.history_windows(until=until, years=2)
    per_report = sum(
        synthetic.expected_reports(start=start, end=end, per_week=1.0) for start, end in windows
    )
    started = time.perf_counter()
    made = synthetic.generate_trend_history(
        until=until, years=2, per_week=reports / per_report, seed=SEED, batch_size=BATCH
    )
    info = {
        "version": synthetic.GENERATOR_VERSION,
        "seed": SEED,
        "target": reports,
        "reports": made,
        "until": until.isoformat(),
        "seconds": time.perf_counter() - started,
    }
    assert Report.objects.count() == made
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {MARKER} (info TEXT NOT NULL)")
        cursor.execute(f"INSERT INTO {MARKER} (info) VALUES (%s)", [json.dumps(info)])  # noqa: S608 - our own table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would within a minute of such a load
    return info


def _median_page(client: Any, url: str) -> float:
    for _ in range(2):  # warm: the first request after signing in writes the session
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(PAGE_ROUNDS):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def child(reports: int) -> int:
    """Measure one size in the database of ``DATABASE_URL``; prints one JSON line."""
    _setup_django()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from influence_reports import release, synthetic
    from influence_reports import trends as cells
    from influence_reports.models import Report
    from security_core.models import User
    from security_core.roles import Role
    from tests.conftest import sign_in
    from tests.factories import UserFactory

    setup_test_environment()
    call_command("migrate", verbosity=0)
    info = _marker()
    fresh = info is None
    if info is None:
        if Report.objects.exists():
            return STALE  # left half-made by an interrupted run
        info = _generate(reports)
    elif (
        info.get("version") != synthetic.GENERATOR_VERSION
        or info.get("seed") != SEED
        or info.get("target") != reports
        or not _keys_open()
    ):
        return STALE

    started = time.perf_counter()
    cell_count = cells.trends_rebuild()
    rebuild = time.perf_counter() - started
    started = time.perf_counter()
    release.release_publish()
    publish = time.perf_counter() - started

    result: dict[str, Any] = {
        "generation": info,
        "fresh": fresh,
        "rebuild": rebuild,
        "cells": cell_count,
        "publish": publish,
    }
    url = reverse("trends_dashboard")
    email = "bench-leader@example.se"  # kept in the reused database, made once
    leader = User.objects.filter(email=email).first() or UserFactory(
        role=Role.LEADERSHIP, email=email
    )
    client = Client()
    sign_in(client, leader, verified=True)
    result["page"] = _median_page(client, url)
    result["page_district"] = _median_page(client, f"{url}?district=bromma")
    print(json.dumps(result))
    return 0


# --- The parent: databases, children and the lines printed ---------------------------------


@contextmanager
def _database(label: str, scratch: Path) -> Iterator[tuple[str, Path | None]]:
    """The database URL for one size, and the SQLite file to delete when it is stale."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://")):
        url = urllib.parse.urlsplit(configured)
        name = f"{url.path.lstrip('/') or 'varn'}_trends_{label}"
        _pg_create(configured, name, drop=label not in CACHED)
        try:
            yield urllib.parse.urlunsplit(url._replace(path=f"/{name}")), None
        finally:
            if label not in CACHED:
                _pg_drop(configured, name)
        return
    if label in CACHED:
        from influence_reports import synthetic

        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"trends-{label}-v{synthetic.GENERATOR_VERSION}-s{SEED}.sqlite3"
    else:
        path = scratch / f"trends-{label}.sqlite3"
    yield f"sqlite:///{path}", path


def _pg_admin(configured: str) -> str:
    url = urllib.parse.urlsplit(configured)
    return urllib.parse.urlunsplit(url._replace(path="/postgres"))


def _pg_drop(configured: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_pg_admin(configured), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _pg_create(configured: str, name: str, *, drop: bool) -> None:
    import psycopg
    from psycopg import sql

    if drop:
        _pg_drop(configured, name)
    with psycopg.connect(_pg_admin(configured), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _reset(url: str, path: Path | None) -> None:
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    configured = os.environ["DATABASE_URL"]
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    _pg_create(configured, name, drop=True)


def _measure(label: str, reports: int, scratch: Path) -> dict[str, Any]:
    with _database(label, scratch) as (url, path):
        env = {
            **os.environ,
            "VARN_ENV": "test",
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": url,
        }
        command = [sys.executable, str(Path(__file__).resolve()), "child", str(reports)]
        for _attempt in range(2):
            done = subprocess.run(  # noqa: S603 - this script, by the venv's python
                command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
            )
            if done.returncode != STALE:
                break
            print(f"  (trends: the {label} database is stale or incomplete; made afresh)")
            _reset(url, path)
        if done.returncode != 0:
            raise RuntimeError(f"trends bench at {label} failed:\n{done.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["where"] = str(path.relative_to(ROOT)) if path and label in CACHED else url
        return result


def trends(results: list[bool]) -> None:
    """The trends page at 1M reports against 10k (goal: at most 1.5 times), with and
    without a district filter; the rebuild of 1M reports (goal: a minute at most)."""
    from run import report, report_at_most

    vendor = (
        "PostgreSQL"
        if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
        else "SQLite"
    )
    measured: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for label, reports in SIZES:
            measured[label] = _measure(label, reports, Path(scratch))
    small, large = measured["10k"], measured["1m"]
    for label, result in (("10k", small), ("1M", large)):
        made = result["generation"]
        how = (
            f"generated in {made['seconds']:.1f} s"
            if result["fresh"]
            else f"reused from {result['where']} (generated up to {made['until']} "
            f"in {made['seconds']:.1f} s)"
        )
        print(
            f"  (trends, {vendor}, {label}: {made['reports']:,} reports {how}; "
            f"{result['cells']:,} cells rebuilt in {result['rebuild']:.1f} s, "
            f"figures published in {result['publish']:.1f} s)"
        )
    print(
        f"  (trends page, median of {PAGE_ROUNDS}: {small['page'] * 1000:.0f} ms at 10k, "
        f"{large['page'] * 1000:.0f} ms at 1M; for Bromma {small['page_district'] * 1000:.0f}"
        f" ms and {large['page_district'] * 1000:.0f} ms)"
    )
    results.append(report("trends page, 1M reports vs 10k", large["page"], small["page"], 1.5))
    results.append(
        report(
            "trends page for one district, 1M reports vs 10k",
            large["page_district"],
            small["page_district"],
            1.5,
        )
    )
    results.append(report_at_most("trend rebuild, 1M reports", large["rebuild"], 60, "s"))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "child":
        raise SystemExit(child(int(sys.argv[2])))
    raise SystemExit("usage: trends.py child <reports> (run.py runs it; see its docstring)")
