"""An attacker's tools against suppressed tables, written apart from ``suppression``.

Whoever sees a table of counts with some suppressed knows every shown count, that a small
one ("<k") is between 0 and k-1 and a hidden one at least k, and the relations that hold
between the counts whatever the data: equations (a total is the sum of its breakdown) and
inequalities (a category is at most its group). From these, they try to work a suppressed
count out exactly:

- ``determined``: by linear algebra, in exact rational arithmetic (``Fraction``): a count
  is given exactly by some combination of the equations iff its unit vector lies in their
  row space over the unknowns;
- ``tighten``: by bounds, propagated through the equations and inequalities until nothing
  changes (every step is a valid deduction, so the true counts always stay inside);
- ``values_taken``: by brute force, for tiny tables: whether an unknown can take another
  integer value than its true one, under every relation and every state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

Var = Any  # a cell's key: anything hashable
INF = math.inf


@dataclass(frozen=True)
class Relation:
    """``sum(coefficient * var) == rhs`` (``equal``) or ``<= rhs``."""

    terms: tuple[tuple[Var, int], ...]
    rhs: int = 0
    equal: bool = True

    def value(self, values: Mapping[Var, int]) -> int:
        return sum(c * values[v] for v, c in self.terms)

    def holds(self, values: Mapping[Var, int]) -> bool:
        left = self.value(values)
        return left == self.rhs if self.equal else left <= self.rhs


def _merge(terms: Iterable[tuple[Var, int]]) -> tuple[tuple[Var, int], ...]:
    merged: dict[Var, int] = {}
    for var, c in terms:
        merged[var] = merged.get(var, 0) + c
    return tuple((v, c) for v, c in merged.items() if c)


def sum_of(total: Var, parts: Iterable[Var]) -> Relation:
    """``total`` is the sum of ``parts``."""
    return Relation(_merge([(total, 1), *((p, -1) for p in parts)]))


def at_most(smaller: Iterable[Var], larger: Iterable[Var]) -> Relation:
    """The sum of ``smaller`` is at most the sum of ``larger``."""
    return Relation(_merge([*((v, 1) for v in smaller), *((v, -1) for v in larger)]), 0, False)


def _substitute(relation: Relation, known: Mapping[Var, int]) -> tuple[dict[Var, int], int]:
    """The relation over the unknowns, with the known counts moved to the right."""
    rhs = relation.rhs
    left: dict[Var, int] = {}
    for var, c in relation.terms:
        if var in known:
            rhs -= c * known[var]
        else:
            left[var] = left.get(var, 0) + c
    return {v: c for v, c in left.items() if c}, rhs


# --- Exact linear determinacy ------------------------------------------------------------


def _components(rows: Sequence[dict[Var, int]]) -> list[list[dict[Var, int]]]:
    parent: dict[Var, Var] = {}

    def find(x: Var) -> Var:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:
        first, *rest = list(row)
        for other in rest:
            parent[find(other)] = find(first)
    groups: dict[Var, list[dict[Var, int]]] = {}
    for row in rows:
        groups.setdefault(find(next(iter(row))), []).append(row)
    return list(groups.values())


def _reduced_rows(rows: Sequence[dict[Var, int]]) -> list[dict[Var, Fraction]]:
    """The reduced row echelon form (sparse, exact) of ``rows``."""
    pivots: dict[Var, dict[Var, Fraction]] = {}  # pivot var -> its row (pivot coefficient 1)
    order = {var: i for i, var in enumerate(sorted({v for r in rows for v in r}, key=repr))}
    for raw in rows:
        row = {v: Fraction(c) for v, c in raw.items()}
        for var in [v for v in row if v in pivots]:
            factor = row.get(var)
            if not factor:
                continue
            for v, c in pivots[var].items():
                new = row.get(v, Fraction(0)) - factor * c
                if new:
                    row[v] = new
                else:
                    row.pop(v, None)
        if not row:
            continue
        pivot = min(row, key=order.__getitem__)
        scale = row[pivot]
        row = {v: c / scale for v, c in row.items()}
        for other in pivots.values():
            factor = other.get(pivot)
            if factor:
                for v, c in row.items():
                    new = other.get(v, Fraction(0)) - factor * c
                    if new:
                        other[v] = new
                    else:
                        other.pop(v, None)
        pivots[pivot] = row
    return list(pivots.values())


def determined(relations: Iterable[Relation], known: Mapping[Var, int]) -> set[Var]:
    """The unknowns that some combination of the equations gives exactly."""
    rows = []
    for relation in relations:
        if not relation.equal:
            continue
        left, _rhs = _substitute(relation, known)
        if left:
            rows.append(left)
    found: set[Var] = set()
    for component in _components(rows):
        for row in _reduced_rows(component):
            if len(row) == 1:
                found |= set(row)
    return found


def solve(relations: Iterable[Relation], known: Mapping[Var, int], var: Var) -> Fraction:
    """The value the equations give ``var`` (which ``determined`` found)."""
    rows: list[tuple[dict[Var, int], int]] = []
    for relation in relations:
        if relation.equal:
            left, rhs = _substitute(relation, known)
            if left:
                rows.append((left, rhs))
    marker = ("~rhs",)  # sorts after every figure's key (a period first), so never a pivot
    augmented = [{**left, marker: -rhs} if rhs else dict(left) for left, rhs in rows]
    for row in _reduced_rows(augmented):
        unknowns = [v for v in row if v != marker]
        if unknowns == [var]:
            return -row.get(marker, Fraction(0)) / row[var]
    raise ValueError(f"{var!r} is not determined")


# --- Bounds ------------------------------------------------------------------------------

Bounds = dict[Var, tuple[float, float]]


class Infeasible(AssertionError):
    """The relations and the states contradict each other: the attacker's model is wrong."""


def tighten(
    relations: Iterable[Relation],
    known: Mapping[Var, int],
    ranges: Mapping[Var, tuple[float, float]],
    why: dict[Var, list[tuple[str, float, Relation]]] | None = None,
) -> Bounds:
    """Each unknown's bounds, tightened through every relation until nothing changes;
    ``why`` collects, for each unknown, the relations that moved its bounds, in order."""
    relations = list(relations)
    low = {v: r[0] for v, r in ranges.items()}
    high = {v: r[1] for v, r in ranges.items()}
    system: list[tuple[dict[Var, int], int, bool]] = []
    sources: list[Relation] = []
    for relation in relations:
        left, rhs = _substitute(relation, known)
        if not left:
            if (rhs != 0) if relation.equal else (rhs < 0):
                raise Infeasible(f"{relation} fails on the shown counts")
            continue
        missing = [v for v in left if v not in low]
        if missing:
            raise KeyError(f"no range for {missing}")
        system.append((left, rhs, relation.equal))
        sources.append(relation)
    uses: dict[Var, list[int]] = {}
    for index, (left, _rhs, _equal) in enumerate(system):
        for var in left:
            uses.setdefault(var, []).append(index)
    queue = list(range(len(system)))
    queued = set(queue)
    while queue:
        index = queue.pop()
        queued.discard(index)
        left, rhs, equal = system[index]
        # Each term's least and greatest value, and their sums.
        mins = {v: (c * low[v] if c > 0 else c * high[v]) for v, c in left.items()}
        maxs = {v: (c * high[v] if c > 0 else c * low[v]) for v, c in left.items()}
        sum_min = _sum(mins.values())
        sum_max = _sum(maxs.values())
        for var, c in left.items():
            rest_min = _without(sum_min, mins[var], mins.values())
            rest_max = _without(sum_max, maxs[var], maxs.values())
            # c * var <= rhs - rest_min, and (if equal) c * var >= rhs - rest_max.
            upper_term = rhs - rest_min
            lower_term = rhs - rest_max if equal else -INF
            if c > 0:
                new_low, new_high = _ceil_div(lower_term, c), _floor_div(upper_term, c)
            else:
                new_low, new_high = _ceil_div(upper_term, c), _floor_div(lower_term, c)
            changed = False
            if new_low > low[var]:
                low[var], changed = new_low, True
                if why is not None:
                    why.setdefault(var, []).append(("low", new_low, sources[index]))
            if new_high < high[var]:
                high[var], changed = new_high, True
                if why is not None:
                    why.setdefault(var, []).append(("high", new_high, sources[index]))
            if low[var] > high[var]:
                raise Infeasible(f"{var!r}: bounds cross through {left} = {rhs}")
            if changed:
                for other in uses[var]:
                    if other not in queued:
                        queued.add(other)
                        queue.append(other)
    return {v: (low[v], high[v]) for v in low}


def _sum(values: Iterable[float]) -> float:
    values = list(values)
    if INF in values and -INF in values:  # pragma: no cover - a term is never both
        raise AssertionError
    return sum(values)


def _without(total: float, part: float, parts: Iterable[float]) -> float:
    """``total`` less ``part``, where an infinite total is recounted without it."""
    if math.isinf(total):
        rest = list(parts)
        rest.remove(part)
        return _sum(rest)
    return total - part


def _floor_div(value: float, c: int) -> float:
    if math.isinf(value):
        return value / c
    return math.floor(Fraction(value) / c)


def _ceil_div(value: float, c: int) -> float:
    if math.isinf(value):
        return value / c
    return math.ceil(Fraction(value) / c)


def pinned(bounds: Bounds) -> set[Var]:
    return {var for var, (low, high) in bounds.items() if low == high}


# --- Brute force -------------------------------------------------------------------------


def another_value(
    relations: Sequence[Relation],
    known: Mapping[Var, int],
    ranges: Mapping[Var, tuple[float, float]],
    var: Var,
    true: int,
    *,
    budget: int = 200_000,
) -> int | None:
    """A value other than ``true`` that ``var`` takes in some integer solution within the
    (finite) ``ranges``, or None if there is none; a depth-first search with propagation."""
    steps = [0]
    for trial in ((ranges[var][0], true - 1), (true + 1, ranges[var][1])):
        if trial[0] > trial[1]:
            continue
        start = dict(ranges)
        start[var] = trial
        found = _search(relations, known, start, steps, budget)
        if found is not None:
            return found[var]
    return None


def _search(
    relations: Sequence[Relation],
    known: Mapping[Var, int],
    ranges: Mapping[Var, tuple[float, float]],
    steps: list[int],
    budget: int,
) -> dict[Var, int] | None:
    steps[0] += 1
    if steps[0] > budget:
        raise RuntimeError("brute force ran out of budget")
    try:
        bounds = tighten(relations, known, ranges)
    except Infeasible:
        return None
    open_vars = [v for v, (low, high) in bounds.items() if low < high]
    if not open_vars:
        solution = {**known, **{v: int(low) for v, (low, _high) in bounds.items()}}
        return solution if all(r.holds(solution) for r in relations) else None
    var = min(open_vars, key=lambda v: (bounds[v][1] - bounds[v][0], repr(v)))
    low, high = bounds[var]
    for value in range(int(low), int(high) + 1):
        trial = dict(bounds)
        trial[var] = (value, value)
        found = _search(relations, known, trial, steps, budget)
        if found is not None:
            return found
    return None
