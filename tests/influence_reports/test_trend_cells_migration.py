"""The upgrade from cells by district and role (0006) to cells by scope (0007) carries the
counts over: leadership's next figures are the same before and after, with no rebuild."""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from influence_reports import trends
from influence_reports.models import Report
from security_core.roles import Role
from tests.influence_reports.test_trend_cells import _random_report

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("influence_reports", "0006_trend_release_first_week")]
AFTER = [("influence_reports", "0007_trend_cells_by_scope")]


def _old_seal(group: str, district: str, role: str, dimension: str, value: str) -> str:
    """A profile value as 0006 sealed it: with its district and role."""
    message = f"varn:trend:{group}|{district}|{role}|{dimension}|{value}".encode()
    key = settings.VARN_BLIND_INDEX_KEY
    return "~" + hmac.new(key, message, hashlib.sha256).hexdigest()[:24]


def _old_cells(reports: list[Report]) -> Counter[tuple[object, ...]]:
    """The cells 0006 kept for these reports: by week, group, district and role."""
    cells: Counter[tuple[object, ...]] = Counter()
    for report in reports:
        profile = {
            dimension: getattr(report, field) or ""
            for dimension, field in trends.PROFILE_FIELDS.items()
        }
        found = trends._report_facts(report, profile)
        for dimension, value in found.values:
            for group in ("", *found.groups):
                stored = value
                if dimension in trends.PROFILE_VALUES:
                    stored = _old_seal(group, found.district, found.role, dimension, value)
                cells[(found.week, group, found.district, found.role, dimension, stored)] += 1
    return cells


def _migrate_forward() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)


def test_cells_by_district_and_role_become_cells_by_scope_with_the_same_counts(make_user, caplog):
    rng = random.Random(70)
    reporter = make_user(Role.REPORTER)
    reports = [_random_report(rng, reporter) for _ in range(25)]
    expected = trends.cells()
    old = _old_cells([Report.objects.get(pk=report.pk) for report in reports])

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    executor.loader.build_graph()
    apps = executor.loader.project_state(BEFORE).apps
    try:
        OldCell = apps.get_model("influence_reports", "TrendCell")
        assert not OldCell.objects.exists()  # going back clears what cannot be split again
        OldCell.objects.bulk_create(
            OldCell(
                week=week, grp=group, district=district, role=role, dimension=d, value=v, count=n
            )
            for (week, group, district, role, d, v), n in old.items()
        )
        # One cell sealed under a key since replaced: left out, and a rebuild asked for.
        OldCell.objects.create(
            week=reports[0].submitted_at.date(),
            grp="",
            district="bromma",
            role="official",
            dimension="gender",
            value="~" + "0" * 24,
            count=1,
        )
        with caplog.at_level(logging.WARNING):
            _migrate_forward()
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert trends.cells() == expected
    assert "1 trend cells are sealed under another key" in caplog.text
    assert "rebuild_trends" in caplog.text
