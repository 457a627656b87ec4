"""Synthetic history: plausible in the shares its docstring promises, counted in full by
the trend rebuild, sealed so the ordinary model attributes open it, and reproducible."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from influence_reports import choices, deadlines, elections, release, synthetic, trends
from influence_reports.models import (
    ENCRYPTED_REPORT_FIELDS,
    Case,
    ProtectiveMeasure,
    Report,
    ReportTag,
    TrendCell,
    TrendRelease,
)
from influence_reports.services.reports import ReportData, report_submit
from security_core.models import DataKey

pytestmark = pytest.mark.django_db

# Eight months outside an election period, then the 2026 period (2026-03-13 to 2026-10-13)
# and some weeks after it.
START, END = date(2025, 7, 1), date(2026, 11, 15)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
REFERENCE = re.compile(
    r"^VN-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}$"
)


def _generate(**kwargs) -> int:
    arguments: dict[str, Any] = {
        "start": START,
        "end": END,
        "per_week": 30.0,
        "seed": 7,
        "now": NOW,
    }
    return synthetic.generate_history(**(arguments | kwargs))


def _cells(dimension: str, grp: str = "") -> dict[str, int]:
    """Counts by value over every week, for everyone (profile values unsealed)."""
    counts: dict[str, int] = {}
    for week, value, count in TrendCell.objects.filter(
        grp=grp, scope=trends.EVERYONE, dimension=dimension
    ).values_list("week", "value", "count"):
        opened = trends.unseal(week, grp, trends.EVERYONE, "", dimension, value)
        assert opened is not None
        counts[opened] = counts.get(opened, 0) + count
    return counts


def test_history_has_the_documented_shares_election_peak_and_channels():
    made = _generate()
    trends.trends_rebuild()

    total = _cells(trends.TOTAL)[""]
    assert made > 2000
    groups = _cells(trends.GROUP)
    assert 0.60 <= groups[choices.PTUGroup.THREATS_AND_HARASSMENT] / total <= 0.72
    assert 0.01 <= groups[choices.PTUGroup.CORRUPTION_ATTEMPTS] / total <= 0.08
    consequences = _cells(trends.CONSEQUENCE)
    for code in ("avoided_issue", "changed_decision", "considered_leaving"):
        assert 0.10 <= consequences[code] / total <= 0.25, code
    assert 0.20 <= _cells(trends.POLICE)["yes"] / total <= 0.30
    channels = _cells(trends.CHANNEL)
    assert max(channels, key=channels.__getitem__) == choices.Channel.SOCIAL_MEDIA
    second = sorted(channels.values())[-2]
    assert channels[choices.Channel.SOCIAL_MEDIA] > 2 * second
    assert _cells(trends.PARTY)[trends.NOT_STATED] / total > 0.5  # party is opt-in

    weeks: dict[str, set[date]] = {"yes": set(), "no": set()}
    for week, value in TrendCell.objects.filter(
        grp="", scope=trends.EVERYONE, dimension=trends.ELECTION
    ).values_list("week", "value"):
        weeks[value].add(week)
    election = _cells(trends.ELECTION)
    in_period = election["yes"] / len(weeks["yes"])
    outside = election["no"] / len(weeks["no"])
    assert in_period > 1.4 * outside


def test_rebuilt_cells_count_every_report_not_withdrawn():
    made = _generate()
    withdrawn = Report.objects.filter(withdrawn_at__isnull=False)

    trends.trends_rebuild()

    total = TrendCell.objects.filter(
        grp="", scope=trends.EVERYONE, dimension=trends.TOTAL
    ).aggregate(n=Sum("count"))
    assert withdrawn.exists()
    assert (
        total["n"]
        == made - withdrawn.count()
        == Report.objects.filter(withdrawn_at__isnull=True).count()
    )
    assert Case.objects.filter(report__in=withdrawn).exclude(closed_reason="withdrawn").count() == 0


def test_fields_are_sealed_so_that_the_model_attributes_open_them():
    _generate(end=START + timedelta(days=60), per_week=20)

    reports = list(Report.objects.select_related("data_key").prefetch_related("tags"))
    assert reports
    genders = set()
    for report in reports:
        assert report.description.startswith("[Syntetisk historik] ")
        genders.add(report.profile_gender)
        assert report.profile_age_band in {"", *choices.AgeBand.values}
        assert report.profile_assembly in {"", *choices.Assembly.values}
        assert report.profile_chair_post in {"", "yes"}
        assert isinstance(report.profile_party, str)
        for name in ENCRYPTED_REPORT_FIELDS:
            if name == "description" or name.startswith("profile_"):
                continue
            assert getattr(report, name) == "", name
        assert report.codes(ReportTag.Kind.CATEGORY)
        assert report.codes(ReportTag.Kind.CHANNEL)
    assert genders <= {"", *choices.Gender.values}
    assert {"woman", "man"} <= genders
    measures = list(ProtectiveMeasure.objects.all())
    assert measures
    for measure in measures:
        assert measure.details == ""
        assert measure.outcome == ""
        assert measure.kind in ProtectiveMeasure.Kind.values
    # One data key for each record, none shared.
    assert DataKey.objects.count() == len(reports) + len(measures)


def _same(one: datetime | None, other: datetime) -> bool:
    # The same instant: == between zones is False for a wall time the autumn clock change
    # makes ambiguous (PEP 495), which the deadlines of a week in October can be.
    return one is not None and one.timestamp() == other.timestamp()


def test_cases_follow_the_deadlines_and_most_are_acknowledged_within_seven_days():
    _generate()

    cases = list(Case.objects.select_related("report"))
    late = 0
    for case in cases:
        report = case.report
        assert _same(
            case.acknowledge_by,
            deadlines.acknowledge_by(submitted_at=report.submitted_at, is_acute=report.is_acute),
        )
        if case.status == Case.Status.RECEIVED:
            assert case.acknowledged_at is None
            assert case.due_at == case.acknowledge_by
            continue
        if case.acknowledged_at is None:  # withdrawn or closed before anyone acknowledged
            assert case.status == Case.Status.CLOSED
            continue
        assert report.submitted_at < case.acknowledged_at <= NOW
        assert _same(case.feedback_by, deadlines.feedback_by(acknowledged_at=case.acknowledged_at))
        if case.status in (Case.Status.FEEDBACK_GIVEN, Case.Status.CLOSED):
            assert case.due_at is None
        else:
            assert case.due_at == case.feedback_by
        if case.acknowledged_at - report.submitted_at > timedelta(days=7):
            late += 1
    acknowledged = [case for case in cases if case.acknowledged_at]
    assert 0 < late < 0.1 * len(acknowledged)
    assert Case.objects.filter(status=Case.Status.CLOSED).count() > len(cases) / 2
    old = Case.objects.filter(report__submitted_at__lt=NOW - timedelta(days=200))
    assert old.exclude(status=Case.Status.CLOSED).count() == 0


def test_the_same_seed_gives_the_same_history():
    def snapshot() -> list[tuple[object, ...]]:
        rows = Report.objects.order_by("submitted_at").values_list(
            "submitted_at", "district", "reporter_role", "police_reported", "case__status"
        )
        return list(rows)

    window = {"end": START + timedelta(days=40), "per_week": 15}
    _generate(**window)
    first = snapshot()
    Report.objects.all().delete()
    _generate(batch_size=7, **window)  # written in other batches, drawn the same

    assert snapshot() == first
    assert first
    Report.objects.all().delete()
    _generate(seed=8, **window)
    assert snapshot() != first


def test_references_are_unique_and_skip_those_already_taken(monkeypatch, make_user):
    existing = report_submit(
        reporter=make_user(),
        data=ReportData(description="Hot.", reporter_role="official", categories=["threat"]),
    )
    drawn = iter(
        [
            existing.reference,
            "VN-2222-2222",
            "VN-2222-2222",
            *(f"VN-3333-{n:04d}".replace("0", "A").replace("1", "B") for n in range(10_000)),
        ]
    )
    monkeypatch.setattr(synthetic._Writer, "_reference", lambda self: next(drawn))

    made = _generate(end=START + timedelta(days=30), per_week=10, batch_size=7)

    references = list(Report.objects.values_list("reference", flat=True))
    assert len(references) == len(set(references)) == made + 1
    assert "VN-2222-2222" in references
    assert all(REFERENCE.match(reference) for reference in references)


def test_writes_no_audit_entries():
    before = LogEntry.objects.count()

    _generate(end=START + timedelta(days=30))

    assert LogEntry.objects.count() == before


def test_expected_reports_is_close_to_what_is_generated():
    made = _generate(now=datetime(2030, 1, 1, tzinfo=UTC))

    expected = synthetic.expected_reports(start=START, end=END, per_week=30.0)
    assert abs(made - expected) < 0.1 * expected


def test_history_windows_add_the_previous_election_period():
    assert elections.periods()  # the calendar the migration seeds
    assert synthetic.previous_election_window(date(2026, 11, 25)) == (
        date(2022, 3, 11),
        date(2022, 10, 11),
    )
    assert synthetic.history_windows(until=date(2026, 11, 25), years=2) == [
        (date(2022, 3, 11), date(2022, 10, 11)),
        (date(2024, 11, 26), date(2026, 11, 25)),
    ]
    assert synthetic.history_windows(until=date(2026, 11, 25), years=0) == [
        (date(2022, 3, 11), date(2022, 10, 11))
    ]
    # Overlapping windows are generated once.
    assert synthetic.history_windows(until=date(2026, 11, 25), years=5) == [
        (date(2021, 11, 26), date(2026, 11, 25))
    ]


def test_command_generates_rebuilds_and_publishes(monkeypatch):
    # The release itself is tested with the trends; here only that it is made, and quickly
    # (publishing every quarter since 2022 takes a while).
    published: list[TrendRelease] = []

    def publish() -> TrendRelease:
        published.append(TrendRelease.objects.create(min_count=5, is_current=True))
        return published[-1]

    monkeypatch.setattr(release, "release_publish", publish)
    out = StringIO()

    call_command(
        "generate_trend_history",
        "--years=0",
        "--per-week=4",
        "--until=2026-11-25",
        stdout=out,
    )

    made = Report.objects.count()
    assert made > 50  # the 2022 election period alone
    assert Report.objects.filter(submitted_at__gte=datetime(2022, 11, 1, tzinfo=UTC)).count() == 0
    assert f"{made} synthetic reports" in out.getvalue()
    total = TrendCell.objects.filter(
        grp="", scope=trends.EVERYONE, dimension=trends.TOTAL
    ).aggregate(n=Sum("count"))
    assert total["n"] == Report.objects.filter(withdrawn_at__isnull=True).count()
    assert len(published) == 1


def test_command_refuses_to_run_in_production(settings):
    settings.VARN_ENV = "production"

    with pytest.raises(CommandError):
        call_command("generate_trend_history", "--years=1")

    assert not Report.objects.exists()
