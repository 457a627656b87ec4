"""The suppression engine, attacked: whatever table it is given, nobody who sees the states
it returns, the shown counts and every line can work a small or hidden count out.

The attacker (``attacker``) is written apart from the engine: exact rational linear algebra
instead of its singular value decomposition, its own bounds, and brute force over every
integer solution for tiny tables.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from influence_reports.suppression import Line, State, Unprotectable, protect
from tests.influence_reports import attacker
from tests.influence_reports.attacker import INF, Relation

EXAMPLES = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- Tables ------------------------------------------------------------------------------

Table = tuple[dict[Any, int], list[Line[Any]], int]


def table_lines(shape: Sequence[int]) -> list[Line[Any]]:
    """Every margin of a table of ``shape`` ("+" sums over that index), each summed over
    each of its summed indices: the lines a published cross-table holds."""
    lines = []
    axes = [[*range(n), "+"] for n in shape]
    for key in itertools.product(*axes):
        for axis, index in enumerate(key):
            if index != "+":
                continue
            members = tuple((*key[:axis], i, *key[axis + 1 :]) for i in range(shape[axis]))
            lines.append(Line(key, members))
    return lines


def table_counts(shape: Sequence[int], inner: Mapping[Any, int]) -> dict[Any, int]:
    axes = [[*range(n), "+"] for n in shape]
    counts: dict[Any, int] = {}
    for key in itertools.product(*axes):
        counts[key] = sum(
            n
            for cell, n in inner.items()
            if all(k == "+" or k == c for k, c in zip(key, cell, strict=True))
        )
    return counts


def count(k: int) -> st.SearchStrategy[int]:
    """Mostly small counts, some at and just above the threshold, a few large ones."""
    return st.one_of(st.integers(0, k - 1), st.integers(k, k + 2), st.integers(0, 4 * k))


@st.composite
def tables(draw: st.DrawFn, max_dims: int = 2, max_cells: int = 12) -> Table:
    k = draw(st.sampled_from([3, 5]))
    dims = draw(st.integers(1, max_dims))
    shape: list[int] = []
    for axis in range(dims):
        room = max_cells // max(1, _product(shape))
        low = 2 if axis == dims - 1 and _product(shape) == 1 else 1
        shape.append(draw(st.integers(low, max(low, min(4, room)))))
    inner = {cell: draw(count(k)) for cell in itertools.product(*(range(n) for n in shape))}
    return table_counts(shape, inner), table_lines(shape), k


def _product(shape: Sequence[int]) -> int:
    result = 1
    for n in shape:
        result *= n
    return result


# --- The attacker's verdict ----------------------------------------------------------------


def relations(lines: Sequence[Line[Any]]) -> list[Relation]:
    return [attacker.sum_of(line.margin, line.members) for line in lines]


def knowledge(
    counts: Mapping[Any, int], states: Mapping[Any, State], k: int, cap: float = INF
) -> tuple[dict[Any, int], dict[Any, tuple[float, float]]]:
    known = {key: counts[key] for key, state in states.items() if state == State.SHOWN}
    ranges: dict[Any, tuple[float, float]] = {
        key: (0, k - 1) if state == State.SMALL else (k, cap)
        for key, state in states.items()
        if state != State.SHOWN
    }
    return known, ranges


def assert_consistent(
    counts: Mapping[Any, int],
    states: Mapping[Any, State],
    k: int,
    fixed: Mapping[Any, State] | None = None,
) -> None:
    """Every cell has a state; the fixed keep theirs; the others are small exactly when
    under k, and shown only if at least k."""
    fixed = fixed or {}
    assert set(states) == set(counts)
    for key, state in states.items():
        if key in fixed:
            assert state == fixed[key], key
        elif counts[key] < k:
            assert state == State.SMALL, key
        else:
            assert state in (State.SHOWN, State.HIDDEN), key


def assert_safe(
    counts: Mapping[Any, int],
    lines: Sequence[Line[Any]],
    states: Mapping[Any, State],
    k: int,
    *,
    brute_force: bool = False,
) -> None:
    """No small or hidden cell can be worked out from the shown ones and the lines."""
    rules = relations(lines)
    assert all(rule.holds(counts) for rule in rules)
    known, ranges = knowledge(counts, states, k)

    found = attacker.determined(rules, known)
    assert not found, {key: attacker.solve(rules, known, key) for key in found}

    bounds = attacker.tighten(rules, known, ranges)
    for key, (low, high) in bounds.items():
        assert low <= counts[key] <= high, key  # the attacker's deductions are sound
    assert not attacker.pinned(bounds), {key: bounds[key] for key in attacker.pinned(bounds)}

    if brute_force:
        # Hidden cells capped above the largest count: fewer solutions than there really
        # are, so a cell that still takes two values certainly does.
        cap = max(counts.values()) + k
        known, finite = knowledge(counts, states, k, cap)
        for key in finite:
            other = attacker.another_value(
                rules,
                known,
                finite,
                key,
                counts[key],
            )
            assert other is not None, f"{key!r} = {counts[key]} is the only value it can take"


def maximal(counts: Mapping[Any, int], k: int) -> dict[Any, State]:
    """Every count of k or more hidden: the least anyone could be told (hiding more only
    ever widens what an attacker must allow)."""
    return {key: State.SMALL if n < k else State.HIDDEN for key, n in counts.items()}


def leaks(
    counts: Mapping[Any, int], lines: Sequence[Line[Any]], states: Mapping[Any, State], k: int
) -> bool:
    """Whether exact elimination or bounds (both sound) work out a suppressed cell."""
    rules = relations(lines)
    known, ranges = knowledge(counts, states, k)
    bounds = attacker.tighten(rules, known, ranges)
    return bool(attacker.determined(rules, known) or attacker.pinned(bounds))


def protect_or_give_up(
    counts: Mapping[Any, int],
    lines: Sequence[Line[Any]],
    k: int,
    fixed: dict[Any, State] | None = None,
) -> dict[Any, State] | None:
    """The engine's states, with a fixed shown cell that blocks hidden instead and the
    table decided again (as the release does); or None where it gives up, which it may
    only when nothing could be published: with every count of k or more hidden, a
    suppressed cell can still be worked out."""
    fixed = fixed if fixed is not None else {}
    for _attempt in range(len(counts) + 1):
        try:
            return protect(counts, lines, k=k, fixed=fixed)
        except Unprotectable as blocked:
            blockers = blocked.blockers
        for cell in blockers:
            assert fixed.get(cell) == State.SHOWN, cell
            fixed[cell] = State.HIDDEN
        if not blockers:
            assert leaks(counts, lines, maximal(counts, k), k), "gave up, yet could protect"
            event("gave up: nothing could be published")
            return None
    raise AssertionError("retries did not settle")  # pragma: no cover


# --- Properties ----------------------------------------------------------------------------


@EXAMPLES
@given(tables(max_dims=2, max_cells=9))
def test_two_way_tables_with_margins_cannot_be_worked_out(table: Table) -> None:
    counts, lines, k = table
    states = protect_or_give_up(counts, lines, k)
    if states is None:
        return
    assert_consistent(counts, states, k)
    assert_safe(counts, lines, states, k, brute_force=_product_inner(counts) <= 6)


@settings(EXAMPLES, max_examples=400)
@given(tables(max_dims=3, max_cells=12))
def test_three_way_tables_with_every_margin_cannot_be_worked_out(table: Table) -> None:
    counts, lines, k = table
    states = protect_or_give_up(counts, lines, k)
    if states is None:
        return
    assert_consistent(counts, states, k)
    assert_safe(counts, lines, states, k)


def _product_inner(counts: Mapping[Any, int]) -> int:
    return sum(1 for key in counts if "+" not in key)


@st.composite
def tables_with_fixed(draw: st.DrawFn) -> tuple[Table, dict[Any, State]]:
    """A table some of whose cells were published before (margins, as a total published
    in an earlier step is fixed in the next), each with a state its count allows."""
    counts, lines, k = draw(tables(max_dims=2, max_cells=9))
    margins = sorted((key for key in counts if "+" in key), key=repr)
    chosen = draw(st.lists(st.sampled_from(margins), unique=True, max_size=len(margins)))
    fixed = {}
    for key in chosen:
        if counts[key] < k:
            fixed[key] = State.SMALL
        else:
            fixed[key] = draw(st.sampled_from([State.SHOWN, State.HIDDEN]))
    return (counts, lines, k), fixed


@EXAMPLES
@given(tables_with_fixed())
def test_tables_with_cells_fixed_before_cannot_be_worked_out(
    case: tuple[Table, dict[Any, State]],
) -> None:
    (counts, lines, k), fixed = case
    given_fixed = dict(fixed)
    states = protect_or_give_up(counts, lines, k, fixed)
    if states is None:
        return
    for key, state in given_fixed.items():
        assert fixed[key] == state or (state == State.SHOWN and fixed[key] == State.HIDDEN)
    assert_consistent(counts, states, k, fixed)
    assert_safe(counts, lines, states, k, brute_force=_product_inner(counts) <= 6)


def outcome(counts: Mapping[Any, int], lines: Sequence[Line[Any]], k: int) -> object:
    try:
        return protect(counts, lines, k=k)
    except Unprotectable as blocked:
        return ("gave up", blocked.blockers)


@EXAMPLES
@given(tables(max_dims=3, max_cells=12), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_order_of_lines_or_cells(table: Table, rng) -> None:
    counts, lines, k = table
    result = outcome(counts, lines, k)

    shuffled_lines = [
        Line(line.margin, tuple(rng.sample(line.members, len(line.members)))) for line in lines
    ]
    rng.shuffle(shuffled_lines)
    keys = list(counts)
    rng.shuffle(keys)
    shuffled_counts = {key: counts[key] for key in keys}

    assert outcome(shuffled_counts, shuffled_lines, k) == result
    assert outcome(counts, lines[::-1], k) == result


Breakdown = tuple[dict[Any, int], list[Line[Any]], list[Line[Any]], int]


@st.composite
def breakdowns(draw: st.DrawFn) -> Breakdown:
    """One dimension as the release publishes it: everyone's row and each district's and
    each role's row of its values, every row adding up to its total, every value's column
    adding up over the districts and over the roles (a district is never crossed with a
    role); and the totals' own lines, decided first."""
    k = draw(st.sampled_from([3, 5]))
    districts, roles, values = (draw(st.integers(2, 3)) for _ in range(3))
    small = st.one_of(st.integers(0, 2), st.integers(0, k + 2))
    inner = {
        (d, r, v): draw(small)
        for d in range(districts)
        for r in range(roles)
        for v in range(values)
    }
    counts, lines, totals = _breakdown_of(inner, districts=districts, roles=roles, values=values)
    return counts, lines, totals, k


def _breakdown_of(
    inner: Mapping[tuple[int, int, int], int], *, districts: int, roles: int, values: int
) -> tuple[dict[Any, int], list[Line[Any]], list[Line[Any]]]:
    """The published cells of counts by (district, role, value), with the lines of the
    breakdown and the lines of the totals."""
    scopes = [("all",), *(("d", d) for d in range(districts)), *(("r", r) for r in range(roles))]

    def inside(scope: tuple[Any, ...], cell: tuple[int, int, int]) -> bool:
        return (
            scope == ("all",)
            or (scope[0] == "d" and scope[1] == cell[0])
            or (scope[0] == "r" and scope[1] == cell[1])
        )

    counts: dict[Any, int] = {}
    for scope in scopes:
        for v in [*range(values), "+"]:
            counts[(*scope, v)] = sum(
                n for cell, n in inner.items() if inside(scope, cell) and v in ("+", cell[2])
            )
    lines = [Line((*scope, "+"), tuple((*scope, v) for v in range(values))) for scope in scopes]
    totals: list[Line[Any]] = []
    for v in [*range(values), "+"]:
        for part, size in (("d", districts), ("r", roles)):
            line = Line(("all", v), tuple((part, i, v) for i in range(size)))
            (totals if v == "+" else lines).append(line)
    return counts, lines, totals


def decide_as_the_release(
    counts: Mapping[Any, int], lines: list[Line[Any]], totals: list[Line[Any]], k: int
) -> tuple[dict[Any, State], dict[Any, State]] | None:
    """The totals first, in their own system; then the breakdown, with the totals fixed
    and a row whose total is not shown fixed as small or hidden throughout, given
    ``lines``; a fixed total that blocks is hidden and all decided again. The states and
    the fixed ones, or None where the engine gives up."""
    total_cells = {key: n for key, n in counts.items() if key[-1] == "+"}
    forced: set[Any] = set()
    for _attempt in range(len(total_cells) + 1):
        first = protect(total_cells, totals, k=k, fixed=dict.fromkeys(forced, State.HIDDEN))
        fixed = dict(first)
        for line in lines:
            if line.margin in first and first[line.margin] != State.SHOWN:
                fixed |= {m: State.SMALL if counts[m] < k else State.HIDDEN for m in line.members}
        try:
            return protect(counts, lines, k=k, fixed=fixed), fixed
        except Unprotectable as blocked:
            blockers = set(blocked.blockers) - forced
        if not blockers:
            return None
        forced |= blockers
    raise AssertionError("retries did not settle")  # pragma: no cover


@EXAMPLES
@given(breakdowns())
def test_a_breakdown_decided_after_its_totals_cannot_be_worked_out(case: Breakdown) -> None:
    """As the release decides a dimension, but with the totals' own lines given to the
    engine in the breakdown's system too."""
    counts, lines, totals, k = case
    every_line = [*lines, *totals]
    decided = decide_as_the_release(counts, every_line, totals, k)
    if decided is None:
        assert leaks(counts, every_line, maximal(counts, k), k), "gave up, yet could protect"
        event("gave up: nothing could be published")
        return
    states, fixed = decided
    assert_consistent(counts, states, k, {key: s for key, s in fixed.items() if s != State.SHOWN})
    assert_safe(counts, every_line, states, k)


# --- Examples ------------------------------------------------------------------------------


def _two_way(inner: list[list[int]]) -> tuple[dict[Any, int], list[Line[Any]]]:
    shape = (len(inner), len(inner[0]))
    cells = {(i, j): n for i, row in enumerate(inner) for j, n in enumerate(row)}
    return table_counts(shape, cells), table_lines(shape)


def test_a_single_small_cell_in_a_row_hides_a_partner_in_its_row_and_column() -> None:
    counts, lines = _two_way([[1, 7, 8], [9, 6, 7]])
    states = protect(counts, lines, k=5)
    assert states[(0, 0)] == State.SMALL
    hidden = {key for key, state in states.items() if state == State.HIDDEN}
    assert any(key[0] == 0 for key in hidden)
    assert any(key[1] == 0 for key in hidden)
    assert_safe(counts, lines, states, 5, brute_force=True)


def test_a_total_of_twelve_over_three_small_values_is_not_left_to_pin_them() -> None:
    # 12 = a + b + c with each under 5: each is at least 12 - 8 = 4, so all are 4.
    counts = {"total": 12, "a": 4, "b": 4, "c": 4}
    lines = [Line("total", ("a", "b", "c"))]
    states = protect(counts, lines, k=5)
    assert states["total"] == State.HIDDEN
    assert_safe(counts, lines, states, 5, brute_force=True)


def test_a_hidden_cell_fixed_before_does_not_pin_its_small_breakdown() -> None:
    # A total hidden earlier (at least 5), now broken down into two values under 5: with
    # the total's upper bound known from elsewhere the two would be pinned.
    counts = {"all": 13, "d": 8, "e": 5, "d_yes": 4, "d_no": 4}
    lines = [Line("all", ("d", "e")), Line("d", ("d_yes", "d_no"))]
    fixed = {"all": State.SHOWN, "d": State.HIDDEN, "e": State.HIDDEN}
    states = protect_or_give_up(counts, lines, 5, fixed)
    assert states is not None
    assert_consistent(counts, states, 5, fixed)
    assert_safe(counts, lines, states, 5, brute_force=True)


@pytest.mark.parametrize("k", [3, 5])
def test_the_attacker_finds_what_an_unprotected_table_gives_away(k: int) -> None:
    """The attacker is not toothless: with only primary suppression, it works cells out."""
    counts, lines = _two_way([[1, 7, 8], [9, 6, 7]])
    states = {key: State.SMALL if n < k else State.SHOWN for key, n in counts.items()}
    with pytest.raises(AssertionError):
        assert_safe(counts, lines, states, k)
    rules = relations(lines)
    known, _ranges = knowledge(counts, states, k)
    found = attacker.determined(rules, known)
    assert found == {key for key, state in states.items() if state == State.SMALL}
    assert all(attacker.solve(rules, known, key) == counts[key] for key in found)


def test_when_nothing_published_shares_a_line_with_the_weak_cell_the_blame_goes_further() -> None:
    """Four reports, all in district 1 (district 0 has none), one candidate (role 0) and
    three others (role 1); values v0 1, v1 3. Decided as the release does: the totals first
    (everyone 4 shown; district 1 and role 1 hidden beside the small ones), then the
    breakdown with the rows of hidden totals fixed. Role 1's total (at least 3) is then its
    two small values, v0 at most everyone's v0, which is 4 less v1's hidden (at least 3): so
    role 1 is at most 1 + 2 = 3, and is 3. No cell of role 1's lines was published before;
    the engine names everyone's total, published before elsewhere in the system, rather
    than nothing (which left the release nothing to hide, and no release at all)."""
    counts: dict[Any, int] = {
        ("all", 0): 1,
        ("all", 1): 3,
        ("all", "+"): 4,
        ("d", 0, 0): 0,
        ("d", 0, 1): 0,
        ("d", 0, "+"): 0,
        ("d", 1, 0): 1,
        ("d", 1, 1): 3,
        ("d", 1, "+"): 4,
        ("r", 0, 0): 0,
        ("r", 0, 1): 1,
        ("r", 0, "+"): 1,
        ("r", 1, 0): 1,
        ("r", 1, 1): 2,
        ("r", 1, "+"): 3,
    }
    scopes: list[tuple[Any, ...]] = [("all",), ("d", 0), ("d", 1), ("r", 0), ("r", 1)]
    lines: list[Line[Any]] = [Line((*s, "+"), ((*s, 0), (*s, 1))) for s in scopes]
    for v in (0, 1):
        lines += [Line(("all", v), ((p, 0, v), (p, 1, v))) for p in "dr"]
    totals: list[Line[Any]] = [Line(("all", "+"), ((p, 0, "+"), (p, 1, "+"))) for p in "dr"]
    first = protect({key: n for key, n in counts.items() if key[-1] == "+"}, totals, k=3)
    assert first[("all", "+")] == State.SHOWN
    assert first[("d", 1, "+")] == first[("r", 1, "+")] == State.HIDDEN
    fixed = dict(first)
    for line in lines:
        if line.margin in first and first[line.margin] != State.SHOWN:
            fixed |= {m: State.SMALL if counts[m] < 3 else State.HIDDEN for m in line.members}

    with pytest.raises(Unprotectable) as blocked:
        protect(counts, lines, k=3, fixed=fixed)
    assert blocked.value.blockers == (("all", "+"),)

    fixed[("all", "+")] = State.HIDDEN  # what the release does with the blame
    fixed |= {("all", v): State.SMALL if counts[("all", v)] < 3 else State.HIDDEN for v in (0, 1)}
    states = protect(counts, lines, k=3, fixed=fixed)
    assert_safe(counts, [*lines, *totals], states, 3, brute_force=True)


def test_the_same_table_in_another_order_gives_the_same_states() -> None:
    """A 2 x 2 table with one non-zero cell, whose lines in two orders once hid different
    cells."""
    counts, lines = _two_way([[0, 0], [0, 3]])
    states = protect(counts, lines, k=3)
    assert protect(counts, lines[::-1], k=3) == states
    assert_safe(counts, lines, states, 3, brute_force=True)


def test_a_table_nothing_can_protect_while_small_and_hidden_are_told_apart() -> None:
    """[[1, 1], [2, 2]] with k = 3: every inner cell is "<3", and so is row 0. Whatever
    is hidden, a hidden column is at least 3, so the grand total is at least 3 + 3, and row
    0 (at most 2) plus row 1's two cells (at most 2 + 2) make it at most 6: it is 6, and
    every cell is pinned. The engine gives up (the release then has no figures at all);
    only not telling "<3" from "hidden" apart would protect such a table."""
    counts, lines = _two_way([[1, 1], [2, 2]])
    with pytest.raises(Unprotectable) as blocked:
        protect(counts, lines, k=3)
    assert blocked.value.blockers == ()
    assert leaks(counts, lines, maximal(counts, 3), 3)
    rules = relations(lines)
    known, ranges = knowledge(counts, maximal(counts, 3), 3)
    assert attacker.tighten(rules, known, ranges)[("+", "+")] == (6, 6)


def test_a_breakdown_decided_without_its_totals_lines_gives_them_away() -> None:
    """As the release decides a dimension of two values (k = 5): everyone 11 (6 and 5),
    district 0: 7 (5 and 2), district 1: 4 (1 and 3), role 0: 5 (1 and 4), role 1: 6 (5 and
    1). The totals first: district 0 is hidden beside district 1's "<5". Then the breakdown,
    given only its own lines, as the release gives them: both of district 1's values are
    "<5", and the rest follows; but everyone = district 0 + district 1 is a line of the
    totals, which the breakdown's system does not hold. Given that line too, the engine
    protects the table."""
    inner = {(0, 1, 0): 5, (1, 0, 0): 1, (0, 0, 1): 2, (1, 0, 1): 2, (1, 1, 1): 1}
    counts, lines, totals = _breakdown_of(inner, districts=2, roles=2, values=2)
    assert [counts[("all", v)] for v in (0, 1, "+")] == [6, 5, 11]
    assert [counts[("d", d, "+")] for d in (0, 1)] == [7, 4]
    assert [counts[("r", r, "+")] for r in (0, 1)] == [5, 6]
    decided = decide_as_the_release(counts, lines, totals, 5)
    assert decided is not None
    assert leaks(counts, [*lines, *totals], decided[0], 5)

    decided = decide_as_the_release(counts, [*lines, *totals], totals, 5)
    assert decided is not None
    assert_safe(counts, [*lines, *totals], decided[0], 5, brute_force=True)
