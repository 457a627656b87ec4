"""View decorators that mark exceptions to the default of "signed in with two factors"."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., object])


def second_factor_not_required(view: ViewFunc) -> ViewFunc:
    """Let a user who has passed the password step, but not yet the second, reach ``view``.

    Only the steps of signing in (verify, enrol, sign out) and public pages carry this.
    """
    view.varn_second_factor_exempt = True  # type: ignore[attr-defined]
    return view
