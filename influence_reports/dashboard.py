"""What the leadership's trends page shows, read from the current release only.

Every number here is a published figure or arithmetic on published figures: a suppressed
figure is a range (below the threshold: 0 to k-1; hidden: at least k), and a sum or a share
that includes one is a range too. The page, its CSV export and the printable briefing are
all made from the same ``Table`` objects, so the export is exactly what is on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from influence_reports import choices, elections, release, trends
from influence_reports.forms import set_choices
from influence_reports.models import ProtectiveMeasure, TrendFigure, TrendRelease
from influence_reports.suppression import State

SERIES_WEEKS = 104  # the weekly series covers the last two years
DASH = "\u2013"  # between the ends of a range, and alone for "no figure"
TIMES = "\u00d7"


@dataclass(frozen=True)
class Amount:
    """A count as far as the release tells it: exactly, or between ``low`` and ``high``
    (``None``: no upper bound). ``mark`` is how a single suppressed figure shows."""

    low: int
    high: int | None
    mark: str = ""
    known: bool = True  # False: nothing was published for it (before the first data)

    @property
    def exact(self) -> bool:
        return self.known and self.high == self.low and not self.mark

    def __add__(self, other: Amount) -> Amount:
        high = None if self.high is None or other.high is None else self.high + other.high
        return Amount(self.low + other.low, high, known=self.known and other.known)

    def __str__(self) -> str:
        if not self.known:
            return DASH
        if self.mark:
            return self.mark
        if self.high == self.low:
            return _n(self.low)
        if self.high is None:
            return f"≥ {_n(self.low)}"
        return f"{_n(self.low)}{DASH}{_n(self.high)}"

    @property
    def value(self) -> int | None:
        return self.low if self.exact else None

    def within(self, other: Amount) -> Amount:
        """What both tell together: a figure, narrowed by another way of adding it up."""
        if self.exact or not other.known:
            return self
        if not self.known or other.exact:
            return other
        high = other.high if self.high is None else self.high
        if other.high is not None and high is not None:
            high = min(high, other.high)
        return Amount(max(self.low, other.low), high)


UNKNOWN = Amount(0, 0, known=False)


def _n(number: int) -> str:
    return number_format(number, force_grouping=True)


def amount(figure: tuple[int | None, int] | None, k: int) -> Amount:
    if figure is None:
        return UNKNOWN
    count, state = figure
    if state == State.SHOWN and count is not None:
        return Amount(count, count)
    if state == State.SMALL:
        return Amount(0, k - 1, mark=f"<{k}")
    if state == State.WITHHELD:
        return Amount(0, None, mark="·")
    return Amount(k, None, mark="·")


def total(amounts: Iterable[Amount]) -> Amount:
    """The sum; a sum of one figure is that figure, shown as it is published."""
    items = list(amounts)
    if len(items) == 1:
        return items[0]
    result = Amount(0, 0)
    for item in items:
        result = result + item
    return result


def share(part: Amount, whole: Amount) -> str:
    """``part`` as a share of ``whole``, as a percentage or a range of them."""
    if not whole.known or not part.known or not whole.low or whole.high is None:
        return DASH
    low = 100 * part.low / whole.high
    if part.exact and whole.exact:
        return f"{number_format(low, 0)} %"
    if part.high is None:
        return f"≥ {number_format(low, 0)} %"
    high = min(100.0, 100 * part.high / whole.low)
    if number_format(low, 0) == number_format(high, 0):
        return f"{number_format(low, 0)} %"  # the range is narrower than a percent
    return f"{number_format(low, 0)}{DASH}{number_format(high, 0)} %"


def per_week(amount_: Amount, weeks: int) -> str:
    if not weeks or not amount_.known:
        return DASH
    if amount_.exact:
        return number_format(amount_.low / weeks, 1)
    high = "" if amount_.high is None else number_format(amount_.high / weeks, 1)
    return (
        f"{number_format(amount_.low / weeks, 1)}{DASH}{high}"
        if high
        else f"≥ {number_format(amount_.low / weeks, 1)}"
    )


# --- Labels --------------------------------------------------------------------------------

_PARTY_LABELS = {
    "s": "Socialdemokraterna",
    "m": "Moderaterna",
    "sd": "Sverigedemokraterna",
    "c": "Centerpartiet",
    "v": "Vänsterpartiet",
    "kd": "Kristdemokraterna",
    "l": "Liberalerna",
    "mp": "Miljöpartiet",
}


def value_label(dimension: str, value: str) -> str:
    if value == trends.NOT_STATED and dimension not in (trends.TOTAL,):
        return _("Not stated")
    if value == trends.YES:
        return _("Yes")
    if value == trends.NO:
        return _("No")
    if dimension == trends.PARTY:
        return _PARTY_LABELS.get(value) or _("Another party")
    if dimension == "district":
        return str(dict(choices.districts()).get(value, value))
    vocabularies: dict[str, Any] = {
        trends.GROUP: choices.PTUGroup,
        trends.CATEGORY: choices.Category,
        trends.CHANNEL: choices.Channel,
        trends.CONSEQUENCE: choices.Consequence,
        trends.PERPETRATOR: choices.PerpetratorKind,
        trends.POLICE: choices.PoliceReported,
        trends.GENDER: choices.Gender,
        trends.AGE_BAND: choices.AgeBand,
        trends.ASSEMBLY: choices.Assembly,
        "role": choices.ReporterRole,
        release.OUTCOME_MEASURE: ProtectiveMeasure.Kind,
    }
    try:
        return str(vocabularies[dimension](value).label)
    except (KeyError, ValueError):
        return value


# --- Filters -------------------------------------------------------------------------------

LAST_TWO_YEARS, LAST_YEAR = "last8", "last4"


class TrendFilterForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), required=False)
    group = forms.ChoiceField(label=gettext_lazy("Kind of event"), required=False)
    district = forms.ChoiceField(label=gettext_lazy("District"), required=False)
    role = forms.ChoiceField(label=gettext_lazy("Reporter's role"), required=False)

    def __init__(self, *args: Any, quarters: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        years = sorted({label[:4] for label in quarters}, reverse=True)
        periods: list[tuple[str, Any]] = [
            (LAST_TWO_YEARS, gettext_lazy("The last two years")),
            (LAST_YEAR, gettext_lazy("The last year")),
        ]
        periods += [(year, year) for year in years]
        periods += [(label, label.replace("-", " ")) for label in reversed(quarters)]
        everyone: list[tuple[str, Any]] = [("", gettext_lazy("All"))]
        options: dict[str, list[tuple[str, Any]]] = {
            "period": periods,
            "group": everyone + list(choices.PTUGroup.choices),
            "district": everyone + choices.districts(),
            "role": everyone + list(choices.ReporterRole.choices),
        }
        set_choices(self, options)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("district") and data.get("role"):
            raise forms.ValidationError(
                _(
                    "Choose a district or a role, not both: the figures are never broken "
                    "down by both at once, so that small groups stay hidden."
                )
            )
        data["period"] = data.get("period") or LAST_TWO_YEARS
        return data


# --- Tables --------------------------------------------------------------------------------


@dataclass
class Table:
    """One table of the page (and of the export): a caption, column heads and rows of
    text, plus what its chart draws (if it has one)."""

    key: str
    caption: str
    headers: list[str]
    rows: list[list[str]]
    chart: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class Dashboard:
    release: TrendRelease | None
    k: int
    filters: dict[str, str]
    period_label: str
    quarters: list[str]
    tables: list[Table]
    notes: list[str]


class Figures(dict[tuple[str, str, str], tuple[int | None, int]]):
    """Published figures by (period, dimension, value). In a period the release covers, a
    figure without a row is a zero (the release does not store them), below the threshold;
    outside it, nothing is known."""

    def __init__(self, rows: Iterable[tuple[str, str, str, int | None, int]], periods: set[str]):
        super().__init__(((p, d, v), (c, s)) for p, d, v, c, s in rows)
        self.periods = periods

    def get(self, key: tuple[str, str, str], default: Any = None) -> Any:
        found = super().get(key)
        if found is None and key[0] in self.periods:
            return (None, int(State.SMALL))
        return found if found is not None else default


def _published_periods(current: TrendRelease) -> set[str]:
    periods = set(
        TrendFigure.objects.filter(release=current, period__contains="-Q")
        .values_list("period", flat=True)
        .distinct()
    )
    if current.first_week and current.last_week:
        week = current.first_week
        while week <= current.last_week:
            periods.add(release.week_label(week))
            week += timedelta(days=7)
    return periods


def _figures(
    current: TrendRelease, group: str, scope: tuple[str, str], periods: set[str]
) -> Figures:
    rows = TrendFigure.objects.filter(
        release=current, grp=group, scope=scope[0], scope_value=scope[1]
    ).values_list("period", "dimension", "value", "count", "state")
    return Figures(rows, periods)


def _period_quarters(period: str, ended: list[str]) -> list[str]:
    if period == LAST_TWO_YEARS:
        return ended[-8:]
    if period == LAST_YEAR:
        return ended[-4:]
    if len(period) == 4:
        return [label for label in ended if label.startswith(period)]
    return [label for label in ended if label == period]


def _period_label(period: str, quarters: list[str]) -> str:
    if not quarters:
        return _("No quarter has ended yet")
    span = quarters[0] if len(quarters) == 1 else f"{quarters[0]} {DASH} {quarters[-1]}"
    return span.replace("-Q", " Q")


def build(current: TrendRelease | None, filters: dict[str, str]) -> Dashboard:
    """The page for ``filters`` (already validated) from the current release."""
    if current is None:
        return Dashboard(None, 0, filters, _("Nothing published yet"), [], [], [])
    k = current.min_count
    group = filters.get("group", "")
    scope: tuple[str, str] = ("", "")
    if filters.get("district"):
        scope = (release.DISTRICT, filters["district"])
    elif filters.get("role"):
        scope = (release.ROLE, filters["role"])
    published = _published_periods(current)
    ended = sorted(p for p in published if "-Q" in p)
    quarters = _period_quarters(filters.get("period") or LAST_TWO_YEARS, ended)
    figures = _figures(current, group, scope, published)

    weekly = _figures(current, "", ("", ""), published)

    def in_quarter(quarter: str, dimension: str, value: str = "") -> Amount:
        """A quarter's figure; for everyone's totals, groups and categories narrowed by the
        sum of the quarter's weeks (published too), which is often tighter when hidden."""
        figure = amount(figures.get((quarter, dimension, value)), k)
        if scope != ("", "") or dimension not in (trends.TOTAL, trends.GROUP, trends.CATEGORY):
            return figure
        week_dimension, week_value = (
            (trends.GROUP, group) if group and dimension == trends.TOTAL else (dimension, value)
        )
        weeks = total(
            amount(weekly.get((release.week_label(w), week_dimension, week_value)), k)
            for w in release.quarter_weeks(quarter)
        )
        return figure.within(weeks)

    def over(within: list[str], dimension: str, value: str = "") -> Amount:
        if not within:
            return UNKNOWN
        return total(in_quarter(q, dimension, value) for q in within)

    # The breakdowns cover the quarters whose total is shown: the parts of a hidden total
    # are withheld, and a sum over them would say no more than "at least".
    complete = [q for q in quarters if amount(figures.get((q, trends.TOTAL, "")), k).exact]

    def over_period(dimension: str, value: str = "") -> Amount:
        return over(complete, dimension, value)

    tables: list[Table] = []
    notes: list[str] = []
    whole = over_period(trends.TOTAL)
    if complete != quarters:
        left_out = [q for q in quarters if q not in complete]
        notes.append(
            _(
                "The breakdowns cover %(kept)s of the period's quarters; %(left)s left out: "
                "their totals are hidden, so that a small weekly count cannot be worked out "
                "from them, and their breakdowns are withheld."
            )
            % {
                "kept": len(complete),
                "left": ", ".join(q.replace("-Q", " Q") for q in left_out),
            }
        )
    if scope == ("", "") and current.last_week:
        columns = _series_columns(group, weekly=True)
        tables.append(_weekly_series(current.last_week, filters, quarters, columns, weekly, k))
        comparison = _election_comparison(current.last_week, columns, weekly, k)
        if comparison:
            tables.append(comparison)
    else:
        columns = _series_columns(group, weekly=False)
        tables.append(_quarterly_series(quarters, columns, figures, k))
        notes.append(
            _(
                "For a district or a role the series is by quarter: weekly counts that small "
                "would nearly all be hidden."
            )
        )
    what = value_label(trends.GROUP, group) if group else _("All reports")
    tables.append(
        Table(
            key="summary",
            caption=_("Reports in the period"),
            headers=[_("What"), _("Reports")],
            rows=[[what, str(over(quarters, trends.TOTAL))]],
        )
    )
    shares = [
        (value_label(trends.CONSEQUENCE, value), over_period(trends.CONSEQUENCE, value))
        for value in (
            choices.Consequence.AVOIDED_ISSUE,
            choices.Consequence.CHANGED_DECISION,
            choices.Consequence.CONSIDERED_LEAVING,
            choices.Consequence.SELF_CENSORED,
        )
    ]
    shares.append((_("Reported to the police"), over_period(trends.POLICE, trends.YES)))
    tables.append(
        _breakdown(
            "consequences",
            _("Consequences for the person, and reports to the police"),
            shares,
            whole,
        )
    )
    breakdowns: list[tuple[str, str, list[str]]] = [
        (trends.CHANNEL, _("By channel"), release.MULTI_VALUED[trends.CHANNEL]),
        (trends.PERPETRATOR, _("By perpetrator"), release.SINGLE_VALUED[trends.PERPETRATOR]),
        (trends.AGE_BAND, _("By age"), release.SINGLE_VALUED[trends.AGE_BAND]),
        (trends.GENDER, _("By gender"), release.SINGLE_VALUED[trends.GENDER]),
        (trends.ASSEMBLY, _("By assembly"), release.SINGLE_VALUED[trends.ASSEMBLY]),
        (trends.CHAIR_POST, _("Chairs an assembly"), release.SINGLE_VALUED[trends.CHAIR_POST]),
        (
            trends.PARTY,
            _("By party (of those who chose to say)"),
            release.SINGLE_VALUED[trends.PARTY],
        ),
        (trends.SEXUAL, _("Of a sexual nature"), release.SINGLE_VALUED[trends.SEXUAL]),
        (trends.ACUTE, _("In danger when reporting"), release.SINGLE_VALUED[trends.ACUTE]),
    ]
    if scope == ("", ""):
        by_scope = _totals_by_scope(current, group, complete, published, k)
        tables.append(
            _breakdown(
                "district",
                _("By district"),
                [
                    (label, by_scope.get((release.DISTRICT, code), UNKNOWN))
                    for code, label in choices.districts()
                ],
                whole,
            )
        )
        tables.append(
            _breakdown(
                "role",
                _("By reporter's role"),
                [
                    (str(label), by_scope.get((release.ROLE, code), UNKNOWN))
                    for code, label in choices.ReporterRole.choices
                ],
                whole,
            )
        )
    for dimension, caption, values in breakdowns:
        rows = [(value_label(dimension, value), over_period(dimension, value)) for value in values]
        tables.append(_breakdown(dimension, caption, rows, whole))
    if scope == ("", ""):
        tables.append(_outcomes(quarters, figures, k, in_quarter))
        tables.append(_measures(quarters, figures, k))
    else:
        notes.append(_("Case outcomes are published for the whole organisation only."))
    label = _period_label(filters.get("period", ""), quarters)
    return Dashboard(current, k, filters, label, quarters, tables, notes)


def _breakdown(key: str, caption: str, rows: list[tuple[str, Amount]], whole: Amount) -> Table:
    return Table(
        key=key,
        caption=caption,
        headers=[_("What"), _("Reports"), _("Share of all reports")],
        rows=[[label, str(part), share(part, whole)] for label, part in rows],
        chart={"kind": "bars", "values": rows},
    )


def _totals_by_scope(
    current: TrendRelease, group: str, quarters: list[str], published: set[str], k: int
) -> dict[tuple[str, str], Amount]:
    """Each district's and each role's reports over the quarters, in one query."""
    rows = TrendFigure.objects.filter(
        release=current, grp=group, dimension=trends.TOTAL, period__in=quarters
    ).exclude(scope="")
    found: dict[tuple[str, str], list[tuple[str, str, str, int | None, int]]] = {}
    for kind, code, period, count, state in rows.values_list(
        "scope", "scope_value", "period", "count", "state"
    ):
        found.setdefault((kind, code), []).append((period, trends.TOTAL, "", count, state))
    scopes = [(release.DISTRICT, code) for code, _label in choices.districts()]
    scopes += [(release.ROLE, code) for code in choices.ReporterRole.values]
    result: dict[tuple[str, str], Amount] = {}
    for scope in scopes:
        figures = Figures(found.get(scope, []), published)
        result[scope] = total(amount(figures.get((q, trends.TOTAL, "")), k) for q in quarters)
    return result


def _series_columns(group: str, *, weekly: bool) -> list[tuple[str, str, str]]:
    """(label, dimension, value) of the lines of the series: all reports and each group,
    or within a group, the group and each of its categories. (Weekly figures are the whole
    organisation's, where a group is its column; by quarter within a group, its total.)"""
    if not group:
        return [(_("All reports"), trends.TOTAL, "")] + [
            (str(label), trends.GROUP, code) for code, label in choices.PTUGroup.choices
        ]
    own = (trends.GROUP, group) if weekly else (trends.TOTAL, "")
    return [(value_label(trends.GROUP, group), *own)] + [
        (str(category.label), trends.CATEGORY, category.value)
        for category in choices.Category
        if choices.PTU_GROUP[category] == group
    ]


def _weekly_series(
    last_week: date,
    filters: dict[str, str],
    quarters: list[str],
    columns: list[tuple[str, str, str]],
    weekly: dict[Any, Any],
    k: int,
) -> Table:
    period = filters.get("period") or LAST_TWO_YEARS
    if period in (LAST_TWO_YEARS, LAST_YEAR):
        count = SERIES_WEEKS if period == LAST_TWO_YEARS else 52
        weeks = [last_week - timedelta(days=7 * i) for i in reversed(range(count))]
    else:
        weeks = [week for q in quarters for week in release.quarter_weeks(q)]
    calendar = elections.periods()
    rows = []
    lines: list[tuple[str, list[Amount]]] = [(label, []) for label, _d, _v in columns]
    shaded = []
    for index, week in enumerate(weeks):
        label = release.week_label(week)
        values = [amount(weekly.get((label, dim, value)), k) for _l, dim, value in columns]
        for line, value in zip(lines, values, strict=True):
            line[1].append(value)
        in_period = elections.period_on(release.thursday(week), calendar)
        if in_period:
            shaded.append(index)
        rows.append([label, *(str(v) for v in values), _("Yes") if in_period else ""])
    return Table(
        key="series",
        caption=_("Reports per week"),
        headers=[_("Week"), *(label for label, _d, _v in columns), _("Election period")],
        rows=rows,
        chart={
            "kind": "lines",
            "labels": [release.week_label(w) for w in weeks],
            "lines": lines,
            "shaded": shaded,
        },
        note=_(
            "Weeks in an election period are shaded. A gap in a line is a week below the "
            "threshold (shown as <%(k)s in the table)."
        )
        % {"k": k},
    )


def _quarterly_series(
    quarters: list[str], columns: list[tuple[str, str, str]], figures: dict[Any, Any], k: int
) -> Table:
    lines: list[tuple[str, list[Amount]]] = [(label, []) for label, _d, _v in columns]
    rows = []
    for quarter in quarters:
        values = [amount(figures.get((quarter, dim, value)), k) for _l, dim, value in columns]
        for line, value in zip(lines, values, strict=True):
            line[1].append(value)
        rows.append([quarter.replace("-Q", " Q"), *(str(v) for v in values)])
    return Table(
        key="series",
        caption=_("Reports per quarter"),
        headers=[_("Quarter"), *(label for label, _d, _v in columns)],
        rows=rows,
        chart={
            "kind": "lines",
            "labels": [q.replace("-Q", " Q") for q in quarters],
            "lines": lines,
            "shaded": [],
        },
    )


def _weeks_in(period: elections.ElectionPeriod) -> list[date]:
    first = period.starts - timedelta(days=(period.starts.weekday() - 3) % 7)  # a Thursday
    weeks = []
    day = first if first >= period.starts else first + timedelta(days=7)
    while day <= period.ends:
        weeks.append(day - timedelta(days=3))
        day += timedelta(days=7)
    return weeks


def _election_comparison(
    last_week: date, columns: list[tuple[str, str, str]], weekly: dict[Any, Any], k: int
) -> Table | None:
    calendar = elections.periods()
    started = [p for p in calendar if p.starts <= release.thursday(last_week)]
    if not started:
        return None
    current = started[-1]
    current_weeks = [w for w in _weeks_in(current) if w <= last_week]
    previous = elections.previous_of(current, calendar)
    previous_weeks = _weeks_in(previous)[: len(current_weeks)] if previous else []
    window_start = last_week - timedelta(days=7 * (SERIES_WEEKS - 1))
    baseline_weeks = [
        last_week - timedelta(days=7 * i)
        for i in range(SERIES_WEEKS)
        if not elections.period_on(release.thursday(last_week - timedelta(days=7 * i)), calendar)
        and last_week - timedelta(days=7 * i) >= window_start
    ]

    def sum_weeks(weeks: list[date], dim: str, value: str) -> Amount:
        return total(amount(weekly.get((release.week_label(w), dim, value)), k) for w in weeks)

    rows = []
    for label, dim, value in columns:
        now = sum_weeks(current_weeks, dim, value)
        before = sum_weeks(previous_weeks, dim, value) if previous_weeks else UNKNOWN
        base = sum_weeks(baseline_weeks, dim, value)
        ratio = DASH
        if now.exact and base.exact and base.low and current_weeks and baseline_weeks:
            ratio = (
                number_format((now.low / len(current_weeks)) / (base.low / len(baseline_weeks)), 2)
                + TIMES
            )
        rows.append(
            [
                label,
                per_week(now, len(current_weeks)),
                per_week(before, len(previous_weeks)),
                per_week(base, len(baseline_weeks)),
                ratio,
            ]
        )
    return Table(
        key="election",
        caption=_("Election period against earlier, in reports per week"),
        headers=[
            _("What"),
            _("Election %(year)s (%(weeks)s weeks so far)")
            % {"year": current.polling_day.year, "weeks": len(current_weeks)},
            (_("The same weeks before the election %(year)s") % {"year": previous.polling_day.year})
            if previous
            else _("The previous election"),
            _("Outside election periods, last two years (%(weeks)s weeks)")
            % {"weeks": len(baseline_weeks)},
            _("Election period against outside"),
        ],
        rows=rows,
        note=_(
            "A week belongs to an election period when its Thursday does. The election "
            "period of %(year)s runs from %(starts)s to %(ends)s."
        )
        % {
            "year": current.polling_day.year,
            "starts": current.starts.isoformat(),
            "ends": current.ends.isoformat(),
        },
    )


def _outcomes(
    quarters: list[str],
    figures: Figures,
    k: int,
    in_quarter: Callable[[str, str], Amount],
) -> Table:
    rows = []
    for quarter in quarters:
        reports = in_quarter(quarter, trends.TOTAL)
        on_time = amount(figures.get((quarter, release.OUTCOME_ACK, trends.YES)), k)
        rows.append(
            [
                quarter.replace("-Q", " Q"),
                str(reports),
                share(on_time, reports),
                _days(figures.get((quarter, release.MEDIAN_ACK, ""))),
                _days(figures.get((quarter, release.MEDIAN_FEEDBACK, ""))),
            ]
        )
    return Table(
        key="outcomes",
        caption=_("How the cases were handled"),
        headers=[
            _("Quarter"),
            _("Reports"),
            _("Acknowledged within 7 days"),
            _("Median days to acknowledgement"),
            _("Median days to feedback"),
        ],
        rows=rows,
    )


def _days(figure: tuple[int | None, int] | None) -> str:
    if figure is None or figure[0] is None:
        return DASH
    return number_format(figure[0] / 10, 1)


def _measures(quarters: list[str], figures: Figures, k: int) -> Table:
    """Which protective measures were taken, in how many cases, by quarter of the report."""
    kinds = release.MULTI_VALUED[release.OUTCOME_MEASURE]
    return Table(
        key="measures",
        caption=_("Protective measures used (cases)"),
        headers=[_("Measure"), *(q.replace("-Q", " Q") for q in quarters)],
        rows=[
            [
                value_label(release.OUTCOME_MEASURE, kind),
                *(
                    str(amount(figures.get((q, release.OUTCOME_MEASURE, kind)), k))
                    for q in quarters
                ),
            ]
            for kind in kinds
        ],
    )
