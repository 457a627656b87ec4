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

ALL = (trends.EVERYONE, "")  # the scope of everyone: no district or role
EVERYONE = ("", ALL, ("total", ""))  # all groups, everyone, all reports
DISTRICT, ROLE = trends.DISTRICT, trends.ROLE

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
    label: str, weeks: list[date], outcomes: Mapping[tuple[str, Scope, Column], int]
) -> _Quarter:
    by_group: dict[str, dict[tuple[Scope, Column], int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        TrendCell.objects.filter(week__in=weeks)
        # Cell by cell: a profile value's seal differs from week to week.
        .values_list("week", "grp", "scope", "scope_value", "dimension", "value", "count")
    )
    for week, group, scope, scoped, dimension, sealed, n in rows:
        value = trends.unseal(week, group, scope, scoped, dimension, sealed)
        if value is None:
            logger.warning("A trend cell is sealed under another key; rebuild the cells.")
            continue
        by_group[group][((scope, scoped), (dimension, value))] += n
    for (group, outcome_scope, column), n in outcomes.items():
        by_group[group][(outcome_scope, column)] += n
    return _Quarter(label=label, weeks=weeks, counts=by_group)


def _quarter_cases(weeks: list[date]) -> QuerySet[Case]:
    """The cases of the reports counted in these weeks (all but the withdrawn)."""
    start = datetime.combine(weeks[0], time.min, tzinfo=timezone.get_current_timezone())
    return Case.objects.filter(
        report__withdrawn_at__isnull=True,
        report__submitted_at__gte=start,
        report__submitted_at__lt=start + timedelta(days=7 * len(weeks)),
    )


def _outcomes(weeks: list[date]) -> dict[tuple[str, Scope, Column], int]:
    """Case outcomes of a quarter's reports, counted like cells, for everyone only (see
    ``ALL_ONLY``): acknowledged within seven days (yes or no) and the kinds of protective
    measure taken (not cancelled)."""
    cases = _quarter_cases(weeks)
    groups = _report_groups(cases.values_list("report_id", flat=True))
    measures: dict[object, set[str]] = defaultdict(set)
    for case_id, kind in (
        ProtectiveMeasure.objects.filter(case__in=cases)
        .exclude(status=ProtectiveMeasure.Status.CANCELLED)
        .values_list("case_id", "kind")
    ):
        measures[case_id].add(kind)
    counts: dict[tuple[str, Scope, Column], int] = defaultdict(int)
    for case_id, report_id, submitted, acknowledged in cases.values_list(
        "pk", "report_id", "report__submitted_at", "acknowledged_at"
    ):
        on_time = acknowledged is not None and acknowledged - submitted <= timedelta(days=7)
        values = [(OUTCOME_ACK, trends.YES if on_time else trends.NO)]
        values += [(OUTCOME_MEASURE, kind) for kind in sorted(measures.get(case_id, ()))]
        for group in ("", *groups.get(report_id, ())):
            for column in values:
                counts[(group, ALL, column)] += 1
    return counts


def _report_groups(report_ids: Iterable[object]) -> dict[object, tuple[str, ...]]:
    """The PTU groups of each report, as its cells count them (``trends.groups_of``)."""
    categories: dict[object, list[str]] = defaultdict(list)
    for report_id, code in ReportTag.objects.filter(
        report_id__in=report_ids, kind=ReportTag.Kind.CATEGORY
    ).values_list("report_id", "code"):
        categories[report_id].append(code)
    return {report_id: trends.groups_of(codes) for report_id, codes in categories.items()}


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
        TrendCell.objects.filter(
            week__lte=last, grp="", scope=trends.EVERYONE, dimension__in=WEEKLY
        )
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
    week_lines: dict[str, list[Line[CellKey]]] = {}
    week_slack: dict[CellKey, int] = {}
    for week in weeks:
        cells = {
            (week_label(week), "", ALL, column): weekly_counts.get((week, column), 0)
            for column in weekly_columns
        }
        lines, slack = _protect_week(cells, k, counts, states)
        week_lines[week_label(week)] = lines
        week_slack.update(slack)

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
            decided_counts: dict[CellKey, int] = {}
            decided: dict[CellKey, State] = {}
            try:
                _protect_quarter(
                    quarter,
                    scopes,
                    k,
                    decided_counts,
                    decided,
                    forced,
                    (counts, states, week_lines, week_slack),
                )
            except Unprotectable as blocked:
                # A figure decided in an earlier step leaves a later one open to working out:
                # hide that figure too, and decide the quarter again from the start.
                new = {cell for cell in blocked.blockers if cell[0] == label} - forced  # type: ignore[index]
                if new:
                    forced |= new  # type: ignore[arg-type]
                    continue
                # Nothing left to hide but weeks already published: withhold the quarter.
                logger.warning("Quarter %s cannot be protected; it is withheld.", label)
                decided = dict.fromkeys(decided_counts, State.WITHHELD)
            counts.update(decided_counts)
            states.update(decided)
            break
        for (group, scope, dimension), (tenths, n) in _medians(q_weeks).items():
            total = (label, group, scope, (trends.TOTAL, ""))
            shown = n >= k and states.get(total) == State.SHOWN
            medians[(label, group, scope, dimension)] = tenths if shown else None
    return Release(counts, states, medians, weeks[0], last)


def _protect_week(
    cells: dict[CellKey, int], k: int, counts: dict[CellKey, int], states: dict[CellKey, State]
) -> tuple[list[Line[CellKey]], dict[CellKey, int]]:
    """One week's figures for everyone (all reports, each group, each category). Within a
    week they are tied by inequalities: a category is at most its group, a group at most the
    sum of its categories and at most all reports; each becomes a line through a slack cell
    that is never published. Decided once, from that week alone, then fixed. Returns those
    lines and the slack cells' values, for the check of the week's quarter."""
    period = next(iter(cells))[0]

    def cell(dimension: str, value: str = "") -> CellKey:
        return (period, "", ALL, (dimension, value))

    system = dict(cells)
    lines: list[Line[CellKey]] = []
    slack: dict[CellKey, State] = {}
    for group in choices.PTUGroup.values:
        group_cell = cell(trends.GROUP, group)
        members = [cell(trends.CATEGORY, c) for c in CATEGORIES_OF[group]]
        lines += _inequalities(group_cell, members, cell(trends.TOTAL), system, slack)
    result = protect(system, lines, k=k, fixed=slack)
    for key, value in cells.items():
        counts[key], states[key] = value, result[key]
    return lines, {key: system[key] for key in slack}


CATEGORIES_OF = {
    group: [
        code
        for code in choices.Category.values
        if choices.PTU_GROUP[choices.Category(code)] == group
    ]
    for group in choices.PTUGroup.values
}


def _inequalities(
    group_cell: CellKey,
    categories: list[CellKey],
    total_cell: CellKey | None,
    system: dict[CellKey, int],
    slack: dict[CellKey, State],
) -> list[Line[CellKey]]:
    """Lines through slack cells for: each category <= its group <= the sum of its
    categories, and the group <= the row's total. ``system`` gets the slack cells' values
    (what they are; the engine never publishes them), ``slack`` their state."""

    def gap(name: str) -> CellKey:
        key: CellKey = (group_cell[0], group_cell[1], group_cell[2], ("~" + name, group_cell[3][1]))
        slack[key] = State.SLACK
        return key

    group_value = system[group_cell]
    lines = _at_most_sum(group_cell, categories, system, slack, name=("~", group_cell[3][1]))
    for index, category in enumerate(categories):
        rest = gap(f"rest{index}")
        system[rest] = group_value - system[category]
        lines.append(Line(group_cell, (category, rest)))
    if total_cell is not None:
        lines.append(_at_most(group_cell, total_cell, system, slack))
    return lines


def _at_most(
    part: CellKey, whole: CellKey, system: dict[CellKey, int], slack: dict[CellKey, State]
) -> Line[CellKey]:
    """``part`` <= ``whole``, as the line whole = part + a slack never published."""
    gap: CellKey = (
        part[0],
        part[1],
        part[2],
        ("~" + part[3][0], f"{part[3][1]}<={whole[1]}{whole[3]}"),
    )
    system[gap], slack[gap] = system[whole] - system[part], State.SLACK
    return Line(whole, (part, gap))


def _at_most_sum(
    whole: CellKey,
    parts: list[CellKey],
    system: dict[CellKey, int],
    slack: dict[CellKey, State],
    *,
    name: tuple[str, str],
) -> list[Line[CellKey]]:
    """``whole`` <= the sum of ``parts``, as two lines through slacks never published: the
    sum, and the sum = whole + the overlap. ``name`` (a prefix and a value) names the two
    slack cells, beside ``whole`` in its period, group and scope."""
    prefix, value = name
    summed: CellKey = (whole[0], whole[1], whole[2], (prefix + "sum", value))
    overlap: CellKey = (whole[0], whole[1], whole[2], (prefix + "overlap", value))
    system[summed] = sum(system[part] for part in parts)
    system[overlap] = system[summed] - system[whole]
    slack[summed] = slack[overlap] = State.SLACK
    return [Line(summed, tuple(parts)), Line(summed, (whole, overlap))]


def _protect_quarter(
    quarter: _Quarter,
    scopes: list[Scope],
    k: int,
    counts: dict[CellKey, int],
    states: dict[CellKey, State],
    forced: set[CellKey],
    weeks: tuple[
        Mapping[CellKey, int],
        Mapping[CellKey, State],
        Mapping[str, list[Line[CellKey]]],
        Mapping[CellKey, int],
    ],
) -> None:
    """Decide every figure of one quarter into ``counts`` and ``states``, step by step
    (``docs/trends.md`` §3). ``forced`` are figures to hide from the start; ``weeks`` the
    counts and states of the weeks, published already, with each week's own lines and the
    values of their slack cells. Every figure of the quarter is in ``counts`` before the
    first step, so a caller that gives up can withhold them all."""
    label = quarter.label
    districts = [s for s in scopes if s[0] == DISTRICT]
    roles = [s for s in scopes if s[0] == ROLE]
    groups = list(choices.PTUGroup.values)
    week_counts, week_states, week_lines, week_slack = weeks
    values: dict[CellKey, int] = {**week_counts, **week_slack}  # every cell a line may name
    slack: dict[CellKey, State] = dict.fromkeys(week_slack, State.SLACK)

    def key(group: str, scope: Scope, column: Column) -> CellKey:
        return (label, group, scope, column)

    def column_cells(group: str, column: Column) -> list[CellKey]:
        within = [ALL] if column[0] in ALL_ONLY else scopes
        return [key(group, s, column) for s in within]

    def total_of(group: str, scope: Scope) -> CellKey:
        return key("", scope, (trends.GROUP, group) if group else (trends.TOTAL, ""))

    dimensions = [*MULTI_VALUED.items(), *SINGLE_VALUED.items()]
    for group in ["", *groups]:
        found = quarter.counts.get(group, {})
        for dimension, options in [((trends.TOTAL), [""]), *dimensions]:
            if group and dimension in (trends.TOTAL, trends.GROUP, trends.CATEGORY):
                continue  # the same figures as without the filter (aliases, below)
            for value in options:
                for cell in column_cells(group, (dimension, value)):
                    counts[cell] = found.get((cell[2], cell[3]), 0)
    aliases: dict[CellKey, CellKey] = {}  # a group's total and categories: the same figures
    for group in groups:
        pairs = [((trends.TOTAL, ""), (trends.GROUP, group))]
        pairs += [((trends.CATEGORY, c), (trends.CATEGORY, c)) for c in CATEGORIES_OF[group]]
        for scope in scopes:
            for alias, source in pairs:
                aliases[key(group, scope, alias)] = key("", scope, source)
                counts[key(group, scope, alias)] = counts[key("", scope, source)]
    values.update(counts)

    def star(group: str, column: Column) -> list[Line[CellKey]]:
        if column[0] in ALL_ONLY:
            return []
        margin = key(group, ALL, column)
        return [
            Line(margin, tuple(key(group, s, column) for s in districts)),
            Line(margin, tuple(key(group, s, column) for s in roles)),
        ]

    def time_line(column: Column) -> Line[CellKey]:
        members = tuple((week_label(week), "", ALL, column) for week in quarter.weeks)
        return Line(key("", ALL, column), members)

    def run(
        cells: list[CellKey], lines: list[Line[CellKey]], fixed: Mapping[CellKey, State]
    ) -> None:
        named = {cell for line in lines for cell in line.cells()} | set(cells)
        known = {**week_states, **states, **slack}
        rules = {c: known[c] for c in named if c in known and c not in cells}
        rules |= {c: State.HIDDEN for c in cells if c in forced} | dict(fixed)
        result = protect({c: values[c] for c in named}, lines, k=k, fixed=rules)
        for cell in cells:
            states[cell] = result[cell]
        every.extend(lines)

    every: list[Line[CellKey]] = []  # the lines of every step, for the check at the end

    def at_most(part: CellKey, whole: CellKey) -> Line[CellKey]:
        return _at_most(part, whole, values, slack)

    # 1. Each category, then each group (at most the sum of its categories, at least each),
    #    then the total (at least each group): for everyone, districts and roles, tied to
    #    the quarter's weeks.
    for category in MULTI_VALUED[trends.CATEGORY]:
        column = (trends.CATEGORY, category)
        run(column_cells("", column), [*star("", column), time_line(column)], {})
    for group in groups:
        column = (trends.GROUP, group)
        lines = [*star("", column), time_line(column)]
        for scope in scopes:
            categories = [key("", scope, (trends.CATEGORY, c)) for c in CATEGORIES_OF[group]]
            lines += _inequalities(key("", scope, column), categories, None, values, slack)
        run(column_cells("", column), lines, {})
    total = (trends.TOTAL, "")
    lines = [*star("", total), time_line(total)]
    lines += [
        at_most(key("", scope, (trends.GROUP, group)), key("", scope, total))
        for scope in scopes
        for group in groups
    ]
    run(column_cells("", total), lines, {})

    # 2. The other columns, within all groups and then each group: the values of a
    #    dimension with one value per report add up to the total, the others are each at
    #    most the total, and within a group every figure is at most the same one without.
    #    The parts of a suppressed total, and within a group the parts of a suppressed
    #    figure without the filter, are withheld (published with no bound at all).
    for group in ["", *groups]:
        for alias_key, source_key in aliases.items():
            if alias_key[1] == group:
                states[alias_key] = states[source_key]
        for dimension, options in dimensions:
            if dimension in (trends.GROUP, trends.CATEGORY):
                continue
            columns = [(dimension, v) for v in options]
            cells = [cell for column in columns for cell in column_cells(group, column)]
            rows = [ALL] if dimension in ALL_ONLY else scopes
            lines = [line for column in columns for line in star(group, column)]
            if dimension in SINGLE_VALUED:
                lines += [
                    Line(total_of(group, s), tuple(key(group, s, c) for c in columns)) for s in rows
                ]
            else:
                lines += [
                    at_most(key(group, s, c), total_of(group, s)) for s in rows for c in columns
                ]
            withheld: dict[CellKey, State] = {}
            for cell in cells:
                overall = key("", cell[2], cell[3])
                if group:
                    lines.append(at_most(cell, overall))
                if states[total_of(group, cell[2])] != State.SHOWN or (
                    group and states[overall] != State.SHOWN
                ):
                    withheld[cell] = State.WITHHELD
            run(cells, lines, withheld)

    # 3. The quarter as a whole: every step's lines at once, its weeks' own (inequalities
    #    between a week's groups and categories), the aliases, and the form's rule (a report
    #    has a category, so a group, or is acute: a figure is at most the sum of the same
    #    figure in each group and the acute reports). A figure hidden here leaves its parts
    #    as they are, not withheld: the check saw every line through them. Each step
    #    decided its figures with its own lines; together they may bound a figure more
    #    tightly than any step saw. What they would pin is protected by hiding more of the
    #    quarter's shown figures (the weeks', published already, stay as they are).
    lines = [*every, *(Line(alias, (source,)) for alias, source in aliases.items())]
    for week in quarter.weeks:
        lines += week_lines.get(week_label(week), [])
    for scope in scopes:
        acute = key("", scope, (trends.ACUTE, trends.YES))
        for dimension, options in [(trends.TOTAL, [""]), *dimensions]:
            # Under a group's filter, its categories and groups are the same figures as
            # without (aliases): nothing to add for them.
            if dimension in (trends.GROUP, trends.CATEGORY):
                continue
            if dimension in ALL_ONLY and scope != ALL:
                continue
            for value in options:
                column = (dimension, value)
                parts = [key(group, scope, column) for group in groups]
                lines += _at_most_sum(
                    key("", scope, column),
                    [*parts, acute],
                    values,
                    slack,
                    name=("~form-", f"{dimension}={value}"),
                )
    named = {cell for line in lines for cell in line.cells()}
    known = {**week_states, **states, **slack}
    rules = {c: known[c] for c in named if c not in states or states[c] != State.SHOWN}
    result = protect({c: values[c] for c in named}, lines, k=k, fixed=rules)
    for cell, state in states.items():
        if state == State.SHOWN and cell in result:
            states[cell] = result[cell]


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

    def figure(
        key: CellKey, dimension: str, value: str, count: int | None, state: State
    ) -> TrendFigure:
        period, group, scope, _column = key
        return TrendFigure(
            release=release,
            period=period,
            grp=group,
            scope=scope[0],
            scope_value=scope[1],
            dimension=dimension,
            value=value,
            count=count if state == State.SHOWN else None,
            state=int(state),
        )

    figures = [
        figure(key, key[3][0], key[3][1], computed.counts[key], state)
        for key, state in computed.states.items()
        # A missing figure is a zero; each period's own total is kept, to list the period.
        if state != State.SMALL or computed.counts[key] or key[1:] == EVERYONE
    ]
    figures += [
        figure(
            (period, group, scope, ("", "")),
            dimension,
            "",
            tenths,
            State.SHOWN if tenths is not None else State.SMALL,
        )
        for (period, group, scope, dimension), tenths in computed.medians.items()
    ]
    TrendFigure.objects.bulk_create(figures, batch_size=5000)
    return release
