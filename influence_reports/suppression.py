"""Small-count suppression of a table of counts tied together by sums (``docs/trends.md``).

A *system* is a set of cells, each a count, and *lines*: equations that one cell (the
margin) is the sum of others (the members), as a total is the sum of its breakdown. Cells
below the threshold ``k`` are *small* and shown as "<k" (primary suppression). Then cells
are *hidden* (complementary suppression) until nobody who sees the rest, and knows every
line, can work out a small or hidden cell exactly, by:

- a line with only one unknown (the rest shown): its unknown is a difference;
- any linear combination of lines (an unknown in the row space of the lines' matrix,
  checked with a singular value decomposition);
- bounds: a small cell is between 0 and k-1 and a hidden one at least k, and tightening
  these through the lines (the "shuttle" an attacker would run) must not pin any unknown.

Cells given as *fixed* were published before with their state and are never changed; the
engine hides others around them. Two kinds are only ever fixed: *withheld* cells, published
with no bound at all (the parts of a total that is itself suppressed), and *slack* cells,
never published, which turn an inequality into a line (a category is at most its group:
group = category + slack). The result depends only on the counts and the lines, never
on who asks or in which order, so every view of the same system agrees.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Generic, TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)
BIG = 10**9  # no upper bound known for a hidden cell


class State(IntEnum):
    SHOWN = 0
    SMALL = 1  # "<k": between 0 and k-1
    HIDDEN = 2  # "·": at least k
    WITHHELD = 3  # "·" with no bound: a part of a suppressed total
    SLACK = 4  # never published: the gap in an inequality, at least 0


@dataclass(frozen=True)
class Line(Generic[K]):
    """``margin`` = sum of ``members``."""

    margin: K
    members: tuple[K, ...]

    def cells(self) -> tuple[K, ...]:
        return (self.margin, *self.members)


class Unprotectable(Exception):
    """Cells fixed as shown leave a small count open to working out, and nothing else can
    be hidden: ``blockers`` are those fixed cells, which the caller must hide and retry."""

    def __init__(self, message: str, blockers: tuple[Hashable, ...] = ()) -> None:
        super().__init__(message)
        self.blockers = blockers


def _order(key: Hashable) -> str:
    return repr(key)


def protect(
    counts: Mapping[K, int],
    lines: Sequence[Line[K]],
    *,
    k: int,
    fixed: Mapping[K, State] | None = None,
) -> dict[K, State]:
    """The state of every cell of ``counts``: shown, small or hidden."""
    fixed = dict(fixed or {})
    state = {
        key: fixed.get(key, State.SMALL if value < k else State.SHOWN)
        for key, value in counts.items()
    }
    # In a canonical order (members and lines sorted, repeats dropped): which cell is hidden
    # depends on the order lines are looked at, and must not depend on the caller's order.
    canonical = {
        Line(line.margin, tuple(sorted(line.members, key=_order))): None
        for line in lines
        if len(line.members) > 0
    }
    lines = sorted(canonical, key=lambda line: [_order(key) for key in line.cells()])
    by_cell: dict[K, list[int]] = {}
    for index, line in enumerate(lines):
        for key in line.cells():
            by_cell.setdefault(key, []).append(index)
    for _round in range(10 * len(counts) + 10):
        weak = _weak(counts, lines, state, k)
        if not weak:
            return state
        for cell, line_index, alone in weak:
            if alone and len(_unknowns(lines[line_index], state)) > 1:
                continue  # an earlier hide in this round protected it already
            _hide_one_more((cell, line_index), counts, lines, by_cell, state, fixed)
    raise Unprotectable("suppression did not settle")  # pragma: no cover - each round hides one


def _unknowns(line: Line[K], state: Mapping[K, State]) -> list[K]:
    return [key for key in line.cells() if state[key] != State.SHOWN]


def _weak(
    counts: Mapping[K, int],
    lines: Sequence[Line[K]],
    state: Mapping[K, State],
    k: int,
) -> list[tuple[K, int, bool]]:
    """Unknown cells that can be worked out, each with the line to protect it in and whether
    it is that line's only unknown: the cheap tests first, the next only once those pass."""
    single = []
    seen: set[K] = set()
    for index, line in enumerate(lines):
        unknown = _unknowns(line, state)
        if len(unknown) == 1 and unknown[0] not in seen and state[unknown[0]] != State.SLACK:
            seen.add(unknown[0])
            single.append((unknown[0], index, True))
    if single:
        return single
    pinned = _pinned_by_bounds(counts, lines, state, k)
    if pinned is not None:
        return [(*pinned, False)]
    determined = [key for key in _determined(lines, state) if state[key] != State.SLACK]
    if not determined:
        return []
    key = determined[0]
    return [(key, next(i for i, line in enumerate(lines) if key in line.cells()), False)]


def _bounds(key: K, state: Mapping[K, State], k: int) -> tuple[int, int]:
    if state[key] == State.SMALL:
        return 0, k - 1
    if state[key] == State.HIDDEN:
        return k, BIG
    return 0, BIG  # withheld, or a slack


def _pinned_by_bounds(
    counts: Mapping[K, int],
    lines: Sequence[Line[K]],
    state: Mapping[K, State],
    k: int,
) -> tuple[K, int] | None:
    """Tighten every unknown's bounds through the lines until nothing changes; an unknown
    whose bounds meet is pinned."""
    low: dict[K, int] = {}
    high: dict[K, int] = {}
    for line in lines:
        for key in line.cells():
            if state[key] != State.SHOWN and key not in low:
                low[key], high[key] = _bounds(key, state, k)
    if not low:
        return None
    active = [i for i, line in enumerate(lines) if _unknowns(line, state)]
    for _sweep in range(50):
        changed = False
        for index in active:
            line = lines[index]
            # margin - sum(members) = 0, with the shown cells moved to the right.
            terms = [(line.margin, 1)] + [(member, -1) for member in line.members]
            constant = -sum(sign * counts[key] for key, sign in terms if state[key] == State.SHOWN)
            unknown = [(key, sign) for key, sign in terms if state[key] != State.SHOWN]
            for key, sign in unknown:
                rest_low = sum((low[o] if s > 0 else -high[o]) for o, s in unknown if o != key)
                rest_high = sum((high[o] if s > 0 else -low[o]) for o, s in unknown if o != key)
                # sign * x = constant - rest
                if sign > 0:
                    new_low, new_high = constant - rest_high, constant - rest_low
                else:
                    new_low, new_high = rest_low - constant, rest_high - constant
                if new_low > low[key]:
                    low[key], changed = new_low, True
                if new_high < high[key]:
                    high[key], changed = new_high, True
                if low[key] >= high[key] and state[key] != State.SLACK:
                    return key, index
        if not changed:
            return None
    return None


def _equalities(lines: Sequence[Line[K]], state: Mapping[K, State]) -> list[Line[K]]:
    """The lines that tie published cells exactly: a line with a slack that no other line
    names says only "at most" or "at least", which bounds, but never determines, a cell."""
    remaining = list(lines)
    while True:
        uses: dict[K, int] = {}
        for line in remaining:
            for key in line.cells():
                if state[key] == State.SLACK:
                    uses[key] = uses.get(key, 0) + 1
        kept = [
            line
            for line in remaining
            if not any(state[key] == State.SLACK and uses[key] == 1 for key in line.cells())
        ]
        if len(kept) == len(remaining):
            return kept
        remaining = kept


def _determined(lines: Sequence[Line[K]], state: Mapping[K, State]) -> list[K]:
    """Unknown cells that some combination of lines gives exactly: those whose unit vector
    lies in the row space of the lines' matrix over the unknowns. Lines that share no
    unknown are independent, so each connected set of them is checked alone (a matrix of
    blocks has the row space of its blocks, and many small decompositions are far cheaper
    than one large one)."""
    parent: dict[K, K] = {}

    def root(key: K) -> K:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    rows_of: list[tuple[list[K], Line[K]]] = []
    for line in _equalities(lines, state):
        unknown = [key for key in line.cells() if state[key] != State.SHOWN]
        if not unknown:
            continue
        for key in unknown:
            parent.setdefault(key, key)
        first = root(unknown[0])
        for key in unknown[1:]:
            parent[root(key)] = first
        rows_of.append((unknown, line))
    blocks: dict[K, list[Line[K]]] = {}
    for unknown, line in rows_of:
        blocks.setdefault(root(unknown[0]), []).append(line)
    found: list[K] = []
    for block in blocks.values():
        found += _determined_in(block, state)
    return sorted(found, key=_order)


def _determined_in(lines: Sequence[Line[K]], state: Mapping[K, State]) -> list[K]:
    unknown = sorted(
        {key for line in lines for key in line.cells() if state[key] != State.SHOWN},
        key=_order,
    )
    column = {key: i for i, key in enumerate(unknown)}
    rows = []
    for line in lines:
        row = np.zeros(len(unknown))
        for key, sign in [(line.margin, 1.0)] + [(m, -1.0) for m in line.members]:
            if key in column:
                row[column[key]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.array(rows)
    _u, singular, basis = np.linalg.svd(matrix, full_matrices=False)
    rank = int((singular > 1e-9 * max(1.0, float(singular[0]))).sum())
    weight = (basis[:rank] ** 2).sum(axis=0)  # |projection of e_i onto the row space|^2
    return [unknown[i] for i in np.flatnonzero(weight > 1 - 1e-6)]


def _hide_one_more(
    weak: tuple[K, int],
    counts: Mapping[K, int],
    lines: Sequence[Line[K]],
    by_cell: Mapping[K, list[int]],
    state: dict[K, State],
    fixed: Mapping[K, State],
) -> None:
    """Hide the smallest shown cell that shares a line with the weak one (a member before a
    margin, and in the weak line first), so that it can no longer be worked out."""
    key, line_index = weak
    candidates_lines = [line_index, *(i for i in by_cell.get(key, []) if i != line_index)]
    for index in candidates_lines:
        line = lines[index]
        choice = _smallest_shown(line.members, counts, state, fixed) or _smallest_shown(
            (line.margin,), counts, state, fixed
        )
        if choice is not None:
            state[choice] = State.HIDDEN
            return
    # Its own lines have nothing left to hide: hide the smallest shown cell anywhere in the
    # system, which gives the combination that worked it out one more unknown.
    everywhere = {cell for line in lines for cell in line.cells()}
    choice = _smallest_shown(everywhere, counts, state, fixed)
    if choice is not None:
        state[choice] = State.HIDDEN
        return
    blockers = tuple(
        cell
        for index in candidates_lines
        for cell in lines[index].cells()
        if state[cell] == State.SHOWN and cell in fixed
    )
    if not blockers:
        # No cell published before shares a line with it: what pins it runs through cells
        # published before elsewhere in the system. Name them all, the smallest first.
        blockers = tuple(
            sorted(
                (cell for cell in everywhere if state[cell] == State.SHOWN and cell in fixed),
                key=lambda cell: (counts[cell], _order(cell)),
            )
        )
    raise Unprotectable("a small count can be worked out from cells already published", blockers)


def _smallest_shown(
    keys: Iterable[K],
    counts: Mapping[K, int],
    state: Mapping[K, State],
    fixed: Mapping[K, State],
) -> K | None:
    shown = [key for key in keys if state[key] == State.SHOWN and key not in fixed]
    return min(shown, key=lambda key: (counts[key], _order(key)), default=None)
