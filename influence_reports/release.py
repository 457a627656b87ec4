"""The release: the anonymised figures leadership may see, made from the trend cells.

Everything leadership sees is one of these figures or arithmetic on them, so no view, filter
or export can show more than the release does (the rules are in ``docs/trends.md``):

- Only whole ISO weeks that have ended are counted; within a week nothing changes.
- Weekly counts (all reports, by PTU group and by category, for the whole organisation)
  are published for every week; below the threshold they show as "<k".
- Quarters (the ISO weeks whose Thursday falls in a calendar quarter) are published once
  they have ended: for everyone and for each district and each reporter role, in all
  groups and in each PTU group, counts by every dimension, and the case outcomes. Within
  a quarter, these figures are tied by sums (a total is the sum of its breakdown, the
  organisation's count is the sum of the districts' and of the roles', the quarter's
  count is the sum of its weeks'), and ``suppression`` hides what a sum would reveal.
- Longer periods are sums of quarters, weeks or both, computed from published figures
  only, with a hidden figure making the sum a range.

A district is never crossed with a role (there is no "role in this district" figure), so
each table stays small enough to check exactly.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from influence_reports import choices, trends
from influence_reports.models import (
    Case,
    ProtectiveMeasure,
    ReportTag,
    TrendCell,
    TrendFigure,
    TrendRelease,
)
from influence_reports.suppression import Line, State, Unprotectable, protect

logger = logging.getLogger(__name__)

ALL = ("", "")  # the scope of everyone: no district or role
EVERYONE = ("", ALL, ("total", ""))  # all groups, everyone, all reports
DISTRICT, ROLE = "district", "role"

# Dimensions published by quarter, with each one's values, and whether a report has
# exactly one value (so the values add up to the total) or may have several.
OUTCOME_ACK = "ack7"  # acknowledged within seven days of the report
OUTCOME_MEASURE = "measure"  # a protective measure of this kind was taken
MEDIAN_ACK = "median_ack"  # median days to acknowledgement (a figure, in tenths of days)
MEDIAN_FEEDBACK = "median_feedback"

SINGLE_VALUED: dict[str, list[str]] = {
    trends.SEXUAL: [trends.YES, trends.NO],
    trends.PERPETRATOR: list(choices.PerpetratorKind.values),
    trends.POLICE: list(choices.PoliceReported.values),
    trends.ACUTE: [trends.YES, trends.NO],
    trends.GENDER: [*choices.Gender.values, trends.NOT_STATED],
    trends.AGE_BAND: [*choices.AgeBand.values, trends.NOT_STATED],
    trends.ASSEMBLY: [*choices.Assembly.values, trends.NOT_STATED],
    trends.CHAIR_POST: [trends.YES, trends.NOT_STATED],
    trends.PARTY: [*trends.PARTIES, trends.OTHER_PARTY, trends.NOT_STATED],
    OUTCOME_ACK: [trends.YES, trends.NO],
}
MULTI_VALUED: dict[str, list[str]] = {
    trends.GROUP: list(choices.PTUGroup.values),
    trends.CATEGORY: list(choices.Category.values),
    trends.CHANNEL: list(choices.Channel.values),
    trends.CONSEQUENCE: list(choices.Consequence.values),
    OUTCOME_MEASURE: list(ProtectiveMeasure.Kind.values),
}
# Case outcomes change while the cases are worked, so a change from one release to the next
# could point at one case: they are published for everyone only, never by district or role.
ALL_ONLY = frozenset({OUTCOME_ACK, OUTCOME_MEASURE})
# Published week by week as well (for the whole organisation only).
WEEKLY = (trends.TOTAL, trends.GROUP, trends.CATEGORY)

Column = tuple[str, str]  # dimension, value
Scope = tuple[str, str]  # "", "" / "district", code / "role", code
CellKey = tuple[str, str, Scope, Column]  # period, group, scope, column


def thursday(week: date) -> date:
    return week + timedelta(days=3)


def week_label(week: date) -> str:
    year, number, _day = week.isocalendar()
    return f"{year}-W{number:02d}"


def quarter_label(week: date) -> str:
    day = thursday(week)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_weeks(label: str) -> list[date]:
    """The Mondays of the ISO weeks whose Thursday falls in the quarter ``2026-Q2``."""
    year, number = int(label[:4]), int(label[-1])
    first = date(year, 3 * (number - 1) + 1, 1)
    end = date(year + (number == 4), (3 * number) % 12 + 1, 1)
    day = first + timedelta(days=(3 - first.weekday()) % 7)  # the first Thursday
    weeks = []
    while day < end:
        weeks.append(day - timedelta(days=3))
        day += timedelta(days=7)
    return weeks


def last_whole_week(today: date | None = None) -> date:
    """The Monday of the last ISO week that has ended."""
    today = today or timezone.localdate()
    return today - timedelta(days=today.weekday() + 7)


@dataclass
class _Quarter:
    """One ended quarter's counts: ``counts[group][(scope, column)]``."""

    label: str
    weeks: list[date]
    counts: dict[str, dict[tuple[Scope, Column], int]]


def _vocabulary(seen: Iterable[str], configured: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*configured, *sorted(seen)]))


def _quarter_counts(
    label: str, weeks: list[date], outcomes: Mapping[tuple[str, str, str, str, str], int]
) -> _Quarter:
    by_group: dict[str, dict[tuple[Scope, Column], int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        TrendCell.objects.filter(week__in=weeks)
        .values_list("grp", "district", "role", "dimension", "value")
        .annotate(n=Sum("count"))
    )
    merged: list[tuple[str, str, str, str, str, int]] = []
    for group, district, role, dimension, sealed, n in rows:
        value = trends.unseal(group, district, role, dimension, sealed)
        if value is None:
            logger.warning("A trend cell is sealed under another key; rebuild the cells.")
            continue
        merged.append((group, district, role, dimension, value, n))
    merged += [(*key, n) for key, n in outcomes.items()]
    for group, district, role, dimension, value, n in merged:
        column = (dimension, value)
        counts = by_group[group]
        counts[(ALL, column)] += n
        if dimension not in ALL_ONLY:
            counts[((DISTRICT, district), column)] += n
            counts[((ROLE, role), column)] += n
    return _Quarter(label=label, weeks=weeks, counts=by_group)


def _quarter_cases(weeks: list[date]) -> QuerySet[Case]:
    """The cases of the reports counted in these weeks (all but the withdrawn)."""
    start = datetime.combine(weeks[0], time.min, tzinfo=timezone.get_current_timezone())
    return Case.objects.filter(
        report__withdrawn_at__isnull=True,
        report__submitted_at__gte=start,
        report__submitted_at__lt=start + timedelta(days=7 * len(weeks)),
    )


def _outcomes(weeks: list[date]) -> dict[tuple[str, str, str, str, str], int]:
    """Case outcomes of a quarter's reports, counted like cells: acknowledged within seven
    days (yes or no) and the kinds of protective measure taken (not cancelled)."""
    cases = _quarter_cases(weeks)
    groups = _report_groups(cases.values_list("report_id", flat=True))
    measures: dict[object, set[str]] = defaultdict(set)
    for case_id, kind in (
        ProtectiveMeasure.objects.filter(case__in=cases)
        .exclude(status=ProtectiveMeasure.Status.CANCELLED)
        .values_list("case_id", "kind")
    ):
        measures[case_id].add(kind)
    counts: dict[tuple[str, str, str, str, str], int] = defaultdict(int)
    for case_id, report_id, submitted, acknowledged, district, role in cases.values_list(
        "pk",
        "report_id",
        "report__submitted_at",
        "acknowledged_at",
        "report__district",
        "report__reporter_role",
    ):
        on_time = acknowledged is not None and acknowledged - submitted <= timedelta(days=7)
        values = [(OUTCOME_ACK, trends.YES if on_time else trends.NO)]
        values += [(OUTCOME_MEASURE, kind) for kind in sorted(measures.get(case_id, ()))]
        for group in ("", *groups.get(report_id, ())):
            for dimension, value in values:
                counts[(group, district, role, dimension, value)] += 1
    return counts


def _report_groups(report_ids: Iterable[object]) -> dict[object, tuple[str, ...]]:
    found: dict[object, set[str]] = defaultdict(set)
    for report_id, code in ReportTag.objects.filter(
        report_id__in=report_ids, kind=ReportTag.Kind.CATEGORY
    ).values_list("report_id", "code"):
        if code in choices.Category.values:
            found[report_id].add(choices.PTU_GROUP[choices.Category(code)].value)
    return {key: tuple(sorted(value)) for key, value in found.items()}


def _medians(weeks: list[date]) -> dict[tuple[str, Scope, str], tuple[int, int]]:
    """Median days (in tenths) to acknowledgement and to feedback, with how many cases
    each is of, by group and scope."""
    cases = _quarter_cases(weeks)
    groups = _report_groups(cases.values_list("report_id", flat=True))
    samples: dict[tuple[str, Scope, str], list[float]] = defaultdict(list)
    for report_id, submitted, acknowledged, feedback in cases.values_list(
        "report_id", "report__submitted_at", "acknowledged_at", "feedback_given_at"
    ):
        for dimension, moment in ((MEDIAN_ACK, acknowledged), (MEDIAN_FEEDBACK, feedback)):
            if moment is None:
                continue
            days = (moment - submitted).total_seconds() / 86400
            for group in ("", *groups.get(report_id, ())):
                samples[(group, ALL, dimension)].append(days)
    return {
        key: (round(statistics.median(values) * 10), len(values)) for key, values in samples.items()
    }


@dataclass
class Release:
    """Figures by key, with their counts (as counted) and states (as published)."""

    counts: dict[CellKey, int]
    states: dict[CellKey, State]
    medians: dict[tuple[str, str, Scope, str], int | None]
    first_week: date | None
    last_week: date | None


def compute(today: date | None = None, *, k: int | None = None) -> Release:
    """Work out every figure and its state from the cells (nothing is written)."""
    k = k or settings.VARN_TREND_MIN_COUNT
    last = last_whole_week(today)
    counts: dict[CellKey, int] = {}
    states: dict[CellKey, State] = {}
    medians: dict[tuple[str, str, Scope, str], int | None] = {}

    weekly = (
        TrendCell.objects.filter(week__lte=last, grp="", dimension__in=WEEKLY)
        .values_list("week", "dimension", "value")
        .annotate(n=Sum("count"))
    )
    weekly_counts: dict[tuple[date, Column], int] = {
        (week, (dimension, value)): n for week, dimension, value, n in weekly
    }
    first = (
        TrendCell.objects.filter(week__lte=last)
        .order_by("week")
        .values_list("week", flat=True)
        .first()
    )
    if first is None:
        return Release(counts, states, medians, None, None)
    first = quarter_weeks(quarter_label(first))[0]  # whole quarters, so each adds up
    weeks = [first + timedelta(days=7 * i) for i in range((last - first).days // 7 + 1)]
    weekly_columns = [(trends.TOTAL, "")] + [
        (dimension, value) for dimension in WEEKLY[1:] for value in MULTI_VALUED[dimension]
    ]
    for week in weeks:
        for column in weekly_columns:
            key = (week_label(week), "", ALL, column)
            counts[key] = weekly_counts.get((week, column), 0)
            states[key] = State.SMALL if counts[key] < k else State.SHOWN

    # A quarter is published a week after it ends, when every acknowledgement deadline in
    # it has passed, so its "acknowledged within seven days" no longer changes.
    ended = sorted(
        {
            quarter_label(week)
            for week in weeks
            if quarter_weeks(quarter_label(week))[-1] + timedelta(days=7) <= last
        }
    )
    districts = [code for code, _label in choices.districts()]
    roles = list(choices.ReporterRole.values)
    for label in ended:
        q_weeks = quarter_weeks(label)
        quarter = _quarter_counts(label, q_weeks, _outcomes(q_weeks))
        seen_districts = {s[1] for g in quarter.counts.values() for s, _c in g if s[0] == DISTRICT}
        seen_roles = {s[1] for g in quarter.counts.values() for s, _c in g if s[0] == ROLE}
        scopes: list[Scope] = [ALL]
        scopes += [(DISTRICT, code) for code in _vocabulary(seen_districts, districts)]
        scopes += [(ROLE, code) for code in _vocabulary(seen_roles, roles)]
        forced: set[CellKey] = set()
        while True:
            try:
                _protect_quarter(quarter, scopes, q_weeks, k, counts, states, forced)
                break
            except Unprotectable as blocked:
                # A total published in the first step leaves a breakdown of it open to
                # working out: hide that total too, and decide the quarter again.
                new = {cell for cell in blocked.blockers if cell[0] == label} - forced  # type: ignore[index]
                if not new:
                    raise
                forced |= new  # type: ignore[arg-type]
        for (group, scope, dimension), (tenths, n) in _medians(q_weeks).items():
            total = (label, group, scope, (trends.TOTAL, ""))
            shown = n >= k and states.get(total) == State.SHOWN
            medians[(label, group, scope, dimension)] = tenths if shown else None
    return Release(counts, states, medians, weeks[0], last)


def _protect_quarter(
    quarter: _Quarter,
    scopes: list[Scope],
    weeks: list[date],
    k: int,
    counts: dict[CellKey, int],
    states: dict[CellKey, State],
    forced: set[CellKey],
) -> None:
    """Decide every figure of one quarter; ``forced`` are figures to hide from the start."""
    label = quarter.label
    districts = [s for s in scopes if s[0] == DISTRICT]
    roles = [s for s in scopes if s[0] == ROLE]

    def key(group: str, scope: Scope, column: Column) -> CellKey:
        return (label, group, scope, column)

    def star(group: str, column: Column) -> list[Line[CellKey]]:
        if column[0] in ALL_ONLY:
            return []
        margin = key(group, ALL, column)
        return [
            Line(margin, tuple(key(group, s, column) for s in districts)),
            Line(margin, tuple(key(group, s, column) for s in roles)),
        ]

    def column_cells(group: str, column: Column) -> dict[CellKey, int]:
        source = quarter.counts.get(group, {})
        within = [ALL] if column[0] in ALL_ONLY else scopes
        return {key(group, s, column): source.get((s, column), 0) for s in within}

    def run(
        cells: dict[CellKey, int], lines: list[Line[CellKey]], fixed: dict[CellKey, State]
    ) -> None:
        system = dict(cells)
        for line in lines:
            for cell in line.cells():
                if cell not in system:
                    system[cell] = counts[cell]
        result = protect(system, lines, k=k, fixed=fixed)
        for cell, value in cells.items():
            counts[cell] = value
            states[cell] = result[cell]

    def time_line(column: Column) -> tuple[Line[CellKey], dict[CellKey, State]]:
        members = tuple((week_label(week), "", ALL, column) for week in weeks)
        return Line(key("", ALL, column), members), {m: states[m] for m in members}

    # 1. Columns of whole counts for everyone: the total, each group and each category,
    #    tied to the weeks; and the other several-valued dimensions.
    for dimension, values in [(trends.TOTAL, [""]), *MULTI_VALUED.items()]:
        for value in values:
            column = (dimension, value)
            lines = star("", column)
            fixed: dict[CellKey, State] = {}
            fixed |= {c: State.HIDDEN for c in column_cells("", column) if c in forced}
            if dimension in WEEKLY:
                line, weeks_fixed = time_line(column)
                fixed |= weeks_fixed
                lines.append(line)
            run(column_cells("", column), lines, fixed)

    # 2. Within each group (all together first): the dimensions a report has one value of,
    #    whose values add up to the group's total; then the others.
    for group in ["", *choices.PTUGroup.values]:
        total_column = (trends.TOTAL, "") if group == "" else (trends.GROUP, group)
        totals = {s: key("", s, total_column) for s in scopes}
        if group:
            for s in scopes:  # the group's total is the group's column for everyone
                alias = key(group, s, (trends.TOTAL, ""))
                counts[alias], states[alias] = counts[totals[s]], states[totals[s]]
        for dimension, values in SINGLE_VALUED.items():
            cells: dict[CellKey, int] = {}
            for value in values:
                cells |= column_cells(group, (dimension, value))
            lines = [line for value in values for line in star(group, (dimension, value))]
            rows = [ALL] if dimension in ALL_ONLY else scopes
            lines += [
                Line(totals[s], tuple(key(group, s, (dimension, v)) for v in values)) for s in rows
            ]
            fixed = {totals[s]: states[totals[s]] for s in rows}
            # A row whose total is not shown is not broken down at all: its parts could
            # otherwise be added up to the total that was withheld.
            for s in rows:
                if states[totals[s]] != State.SHOWN:
                    for v in values:
                        cell = key(group, s, (dimension, v))
                        fixed[cell] = State.SMALL if cells[cell] < k else State.HIDDEN
            run(cells, lines, fixed)
        if group:
            for dimension, values in MULTI_VALUED.items():
                for value in values:
                    column = (dimension, value)
                    if (
                        dimension == trends.CATEGORY
                        and choices.PTU_GROUP[choices.Category(value)] == group
                    ):
                        for s in scopes:  # a category of the group: the same count
                            alias, source = key(group, s, column), key("", s, column)
                            counts[alias], states[alias] = counts[source], states[source]
                        continue
                    if dimension in (trends.GROUP, trends.CATEGORY):
                        continue  # other groups' categories are not broken down by group
                    run(column_cells(group, column), star(group, column), {})


@transaction.atomic
def release_publish(today: date | None = None) -> TrendRelease:
    """Work out the figures and make them the current release, replacing the last."""
    k = settings.VARN_TREND_MIN_COUNT
    computed = compute(today, k=k)
    TrendRelease.objects.filter(is_current=True).update(is_current=False)
    TrendRelease.objects.exclude(is_current=True).delete()
    release = TrendRelease.objects.create(
        first_week=computed.first_week, last_week=computed.last_week, min_count=k, is_current=True
    )
    figures = [
        TrendFigure(
            release=release,
            period=period,
            grp=group,
            scope=scope[0],
            scope_value=scope[1],
            dimension=column[0],
            value=column[1],
            count=computed.counts[key] if state == State.SHOWN else None,
            state=int(state),
        )
        for key, state in computed.states.items()
        for period, group, scope, column in [key]
        # A missing figure is a zero; each period's own total is kept, to list the period.
        if state != State.SMALL or computed.counts[key] or (group, scope, column) == EVERYONE
    ]
    figures += [
        TrendFigure(
            release=release,
            period=period,
            grp=group,
            scope=scope[0],
            scope_value=scope[1],
            dimension=dimension,
            value="",
            count=tenths,
            state=int(State.SHOWN if tenths is not None else State.SMALL),
        )
        for (period, group, scope, dimension), tenths in computed.medians.items()
    ]
    TrendFigure.objects.bulk_create(figures, batch_size=5000)
    return release
