"""The release, attacked: synthetic reports written straight into the trend cells, and an
attacker who reads every published figure and knows what each one means.

The attacker's relations are built from the meaning of the figures, not from ``release``'s
own lines, so that a relation the release forgets to protect is still used:

- a period's total (of all groups, or of one group) is the sum of the values of each
  dimension a report has one value of, in everyone, each district and each role
  ("acknowledged within seven days" in everyone only);
- everyone's count is the sum of the districts' and of the roles', for every column;
- a quarter's count is the sum of its weeks' (total, each group, each category);
- a group's total under its own filter is its column without a filter, and so is each of
  its categories;

and inequalities that hold whatever the data:

- a value of a dimension a report may have several of is at most the row's total;
- a category is at most its group, which is at most the sum of its categories;
- a count under a group's filter is at most the same count without a filter;
- (from the form: a report has a category or is acute) a count without a filter is at most
  the sum over the groups plus the acute reports; a week's count is at least each group's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from influence_reports import choices, release, trends
from influence_reports.models import ReportTag, TrendCell
from influence_reports.suppression import State
from tests.influence_reports import attacker
from tests.influence_reports.attacker import INF, Relation

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TOTAL: release.Column = (trends.TOTAL, "")
ALL = release.ALL
GROUPS = list(choices.PTUGroup.values)
CATEGORIES_OF = {
    group: [c for c in choices.Category.values if choices.PTU_GROUP[choices.Category(c)] == group]
    for group in GROUPS
}
GROUP_OF = {c: choices.PTU_GROUP[choices.Category(c)].value for c in choices.Category.values}


@dataclass(frozen=True)
class Fake:
    """A synthetic report: what the cells and the case outcomes count of it."""

    week: date
    categories: tuple[str, ...] = ("threat",)
    district: str = "a"
    role: str = "official"
    channels: tuple[str, ...] = ()
    consequences: tuple[str, ...] = ()
    sexual: bool = False
    perpetrator: str = "unknown"
    police: str = "no"
    acute: bool = False
    gender: str = ""
    age_band: str = ""
    assembly: str = ""
    chair_post: str = ""
    party: str = ""
    ack7: bool = False
    measures: tuple[str, ...] = ()

    def facts(self) -> trends.Facts:
        tags = [(ReportTag.Kind.CATEGORY.value, c) for c in self.categories]
        tags += [(ReportTag.Kind.CHANNEL.value, c) for c in self.channels]
        tags += [(ReportTag.Kind.CONSEQUENCE.value, c) for c in self.consequences]
        return trends.facts(
            submitted_at=datetime.combine(self.week + timedelta(days=2), time(12), STOCKHOLM),
            district=self.district,
            role=self.role,
            sexual_nature=self.sexual,
            perpetrator_kind=self.perpetrator,
            police_reported=self.police,
            is_acute=self.acute,
            tags=tags,
            profile={
                trends.GENDER: self.gender,
                trends.AGE_BAND: self.age_band,
                trends.ASSEMBLY: self.assembly,
                trends.CHAIR_POST: self.chair_post,
                trends.PARTY: self.party,
            },
            calendar=[],
        )


@dataclass
class Dataset:
    """Synthetic reports, written as cells; their case outcomes stand in for the cases'."""

    fakes: list[Fake] = field(default_factory=list)

    def load(self, monkeypatch) -> None:
        counts: Counter[trends.Key] = Counter()
        for fake in self.fakes:
            counts.update(fake.facts().keys())
        TrendCell.objects.all().delete()
        TrendCell.objects.bulk_create(
            TrendCell(
                week=week, grp=group, scope=scope, scope_value=scoped, dimension=d, value=v, count=n
            )
            for (week, group, scope, scoped, d, v), n in sorted(counts.items())
        )
        monkeypatch.setattr(release, "_outcomes", self.outcomes)
        monkeypatch.setattr(release, "_medians", lambda weeks: {})

    def outcomes(self, weeks: list[date]) -> dict[tuple[str, release.Scope, release.Column], int]:
        counts: dict[tuple[str, release.Scope, release.Column], int] = defaultdict(int)
        for fake in self.fakes:
            if fake.week not in weeks:
                continue
            values = [(release.OUTCOME_ACK, trends.YES if fake.ack7 else trends.NO)]
            values += [(release.OUTCOME_MEASURE, kind) for kind in sorted(set(fake.measures))]
            for group in ("", *fake.facts().groups):
                for column in values:
                    counts[(group, release.ALL, column)] += 1
        return counts


# --- What the figures mean -----------------------------------------------------------------


def _multi_columns(group: str) -> list[release.Column]:
    """The several-valued columns published within ``group`` ("" for all), not by scope."""
    if group == "":
        dims = [trends.GROUP, trends.CATEGORY, trends.CHANNEL, trends.CONSEQUENCE]
        columns = [(d, v) for d in dims for v in release.MULTI_VALUED[d]]
    else:
        columns = [(trends.CATEGORY, c) for c in CATEGORIES_OF[group]]
        columns += [
            (d, v) for d in (trends.CHANNEL, trends.CONSEQUENCE) for v in release.MULTI_VALUED[d]
        ]
    return columns


def expected_quarter(label: str, scopes: Iterable[release.Scope]) -> set[release.CellKey]:
    """Every figure a quarter publishes, as the release's docstring describes it."""
    keys: set[release.CellKey] = set()
    for group in ["", *GROUPS]:
        for scope in scopes:
            columns = [TOTAL, *_multi_columns(group)]
            for dimension, values in release.SINGLE_VALUED.items():
                if dimension not in release.ALL_ONLY:
                    columns += [(dimension, v) for v in values]
            if scope == ALL:
                columns += [(release.OUTCOME_ACK, v) for v in release.SINGLE_VALUED["ack7"]]
                columns += [(release.OUTCOME_MEASURE, v) for v in release.MULTI_VALUED["measure"]]
            keys |= {(label, group, scope, column) for column in columns}
    return keys


def weekly_columns() -> list[release.Column]:
    return [TOTAL] + [
        (d, v) for d in (trends.GROUP, trends.CATEGORY) for v in release.MULTI_VALUED[d]
    ]


EQUATIONS = "equations"  # sums: the lines the release protects, and the aliases
MULTI_AT_MOST_TOTAL = "multi<=total"  # a several-valued value is at most the total
GROUP_CATEGORIES = "group~categories"  # a category <= its group <= the sum of its categories
FILTER_AT_MOST_ALL = "filter<=all"  # a count under a group's filter <= the same without
FORM_RULE = "form"  # every report has a category or is acute
FAMILIES = frozenset(
    {EQUATIONS, MULTI_AT_MOST_TOTAL, GROUP_CATEGORIES, FILTER_AT_MOST_ALL, FORM_RULE}
)


def relations(
    published: Iterable[release.CellKey], families: frozenset[str] = FAMILIES
) -> list[Relation]:
    """Every relation between the published figures, from what they mean."""
    form_rule = FORM_RULE in families
    keys = set(published)
    rules = _relations(keys, form_rule)
    return [rule for family, rule in rules if family in families]


def _relations(keys: set[release.CellKey], form_rule: bool) -> list[tuple[str, Relation]]:
    periods = sorted({key[0] for key in keys})
    weeks = [p for p in periods if "-W" in p]
    quarters = [p for p in periods if "-Q" in p]
    rules: list[tuple[str, Relation]] = []

    def equal(total: release.CellKey, parts: Iterable[release.CellKey]) -> None:
        rules.append((EQUATIONS, attacker.sum_of(total, parts)))

    def at_most(
        family: str, small: Iterable[release.CellKey], large: Iterable[release.CellKey]
    ) -> None:
        rules.append((family, attacker.at_most(small, large)))

    for week in weeks:

        def w(column: release.Column, week: str = week) -> release.CellKey:
            return (week, "", ALL, column)

        for group in GROUPS:
            at_most(MULTI_AT_MOST_TOTAL, [w((trends.GROUP, group))], [w(TOTAL)])
            cats = [w((trends.CATEGORY, c)) for c in CATEGORIES_OF[group]]
            at_most(GROUP_CATEGORIES, [w((trends.GROUP, group))], cats)
            for cat in cats:
                at_most(GROUP_CATEGORIES, [cat], [w((trends.GROUP, group))])

    for label in quarters:
        scopes = sorted({key[2] for key in keys if key[0] == label})
        assert ALL in scopes
        districts = [s for s in scopes if s[0] == release.DISTRICT]
        roles = [s for s in scopes if s[0] == release.ROLE]
        missing = expected_quarter(label, scopes) - keys
        assert not missing, sorted(missing)[:10]

        def f(
            group: str, scope: release.Scope, column: release.Column, q: str = label
        ) -> release.CellKey:
            return (q, group, scope, column)

        # A quarter is the sum of its weeks.
        q_weeks = [release.week_label(m) for m in release.quarter_weeks(label)]
        for column in weekly_columns():
            equal(f("", ALL, column), [(wk, "", ALL, column) for wk in q_weeks])

        for group in ["", *GROUPS]:
            for scope in scopes:
                total = f(group, scope, TOTAL)
                # Each single-valued dimension adds up to the total.
                for dimension, values in release.SINGLE_VALUED.items():
                    if dimension in release.ALL_ONLY and scope != ALL:
                        continue
                    equal(total, [f(group, scope, (dimension, v)) for v in values])
                # A several-valued value is at most the total.
                multi = _multi_columns(group)
                if scope == ALL:
                    multi += [(release.OUTCOME_MEASURE, v) for v in release.MULTI_VALUED["measure"]]
                for column in multi:
                    at_most(MULTI_AT_MOST_TOTAL, [f(group, scope, column)], [total])
            # Everyone is the sum of the districts and of the roles.
            columns = sorted({key[3] for key in keys if key[0] == label and key[1] == group})
            for column in columns:
                if column[0] in release.ALL_ONLY:
                    continue
                for part in (districts, roles):
                    equal(f(group, ALL, column), [f(group, s, column) for s in part])

        for scope in scopes:
            for group in GROUPS:
                # A group's own total and categories are its figures without a filter.
                equal(f(group, scope, TOTAL), [f("", scope, (trends.GROUP, group))])
                for c in CATEGORIES_OF[group]:
                    category = (trends.CATEGORY, c)
                    equal(f(group, scope, category), [f("", scope, category)])
                    at_most(
                        GROUP_CATEGORIES,
                        [f("", scope, category)],
                        [f("", scope, (trends.GROUP, group))],
                    )
                at_most(
                    GROUP_CATEGORIES,
                    [f("", scope, (trends.GROUP, group))],
                    [f("", scope, (trends.CATEGORY, c)) for c in CATEGORIES_OF[group]],
                )
            # Under a group's filter, at most as many as without.
            shared = {
                key[3]
                for key in keys
                if key[0] == label and key[1] == GROUPS[0] and key[2] == scope
            }
            for column in sorted(shared):
                if column[0] == trends.CATEGORY:
                    continue
                for group in GROUPS:
                    at_most(FILTER_AT_MOST_ALL, [f(group, scope, column)], [f("", scope, column)])
                if form_rule:
                    # Every report has a group or is acute.
                    acute = f("", scope, (trends.ACUTE, trends.YES))
                    at_most(
                        FORM_RULE,
                        [f("", scope, column)],
                        [*(f(g, scope, column) for g in GROUPS), acute],
                    )
    return rules


def knowledge(
    computed: release.Release, k: int
) -> tuple[dict[release.CellKey, int], dict[release.CellKey, tuple[float, float]]]:
    known = {key: computed.counts[key] for key, s in computed.states.items() if s == State.SHOWN}
    bounds = {State.SMALL: (0, k - 1), State.HIDDEN: (k, INF), State.WITHHELD: (0, INF)}
    ranges: dict[release.CellKey, tuple[float, float]] = {
        key: bounds[s] for key, s in computed.states.items() if s != State.SHOWN
    }
    return known, ranges


class Disclosed(AssertionError):
    """The attacker worked a suppressed figure out."""


@dataclass
class Findings:
    determined: dict[release.CellKey, object]
    pinned: dict[release.CellKey, tuple[float, float]]

    def __bool__(self) -> bool:
        return bool(self.determined or self.pinned)


def attack(computed: release.Release, k: int, families: frozenset[str] = FAMILIES) -> Findings:
    """What the attacker works out of the release: suppressed figures given exactly by the
    equations, or pinned by bounds. Fails if the model contradicts the true counts."""
    rules = relations(computed.states, families)
    broken = [rule for rule in rules if not rule.holds(computed.counts)]
    assert not broken, broken[:5]
    known, ranges = knowledge(computed, k)
    found = attacker.determined(rules, known)
    bounds = attacker.tighten(rules, known, ranges)
    for key, (low, high) in bounds.items():
        assert low <= computed.counts[key] <= high, (key, low, high, computed.counts[key])
    pinned = attacker.pinned(bounds)
    return Findings(
        determined={key: attacker.solve(rules, known, key) for key in sorted(found)},
        pinned={key: bounds[key] for key in sorted(pinned)},
    )


def describe(computed: release.Release, findings: Findings) -> str:
    lines = []
    for key, value in findings.determined.items():
        lines.append(f"determined {key} = {value} ({computed.states[key].name})")
    for key, (low, high) in findings.pinned.items():
        lines.append(f"pinned {key} in [{low}, {high}] ({computed.states[key].name})")
    return "\n".join(lines)


def states_of(
    computed: release.Release, keys: Mapping[str, release.CellKey]
) -> dict[str, tuple[int, str]]:
    return {name: (computed.counts[key], computed.states[key].name) for name, key in keys.items()}
