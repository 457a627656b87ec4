"""The risk level that a structured assessment's answers lead to.

The rule is deliberately simple and written down, so that two officers answering alike
reach the same level and a reviewer can check it:

- an attack expected now or within hours is **acute**, whatever else is known;
- otherwise each answer adds points (credibility 0-2, specificity 0-2, capacity 0-2,
  history 0-2, imminence 0-2) and the sum gives the level: up to 2 **low**, up to 5
  **elevated**, above that **high**;
- a credible threat from someone known for violence is at least **high**.
"""

from __future__ import annotations

from influence_reports.models import RiskAssessment

A = RiskAssessment

_POINTS: dict[str, int] = {
    A.Credibility.LOW: 0,
    A.Credibility.MEDIUM: 1,
    A.Credibility.HIGH: 2,
    A.Specificity.VAGUE: 0,
    A.Specificity.SPECIFIC: 1,
    A.Specificity.DETAILED: 2,
}
_CAPACITY: dict[str, int] = {A.Capacity.NONE_KNOWN: 0, A.Capacity.SOME: 1, A.Capacity.HIGH: 2}
_HISTORY: dict[str, int] = {A.History.NONE_KNOWN: 0, A.History.EARLIER: 1, A.History.VIOLENT: 2}
_IMMINENCE: dict[str, int] = {A.Imminence.NONE: 0, A.Imminence.WEEKS: 1, A.Imminence.DAYS: 2}


def risk_level_for(
    *, credibility: str, specificity: str, capacity: str, history: str, imminence: str
) -> str:
    if imminence == A.Imminence.NOW:
        return A.Level.ACUTE
    score = (
        _POINTS[credibility]
        + _POINTS[specificity]
        + _CAPACITY[capacity]
        + _HISTORY[history]
        + _IMMINENCE[imminence]
    )
    if credibility == A.Credibility.HIGH and history == A.History.VIOLENT:
        return A.Level.HIGH
    if score <= 2:
        return A.Level.LOW
    if score <= 5:
        return A.Level.ELEVATED
    return A.Level.HIGH
