"""The stages of a strategy instance and the moves between them.

``candidate -> backtested -> paper -> live_candidate -> live -> under_review -> retired``,
and back from ``under_review`` to ``live`` when it recovers. A candidate that fails its
backtest stays ``backtested`` (discovery may test it again on newer data); any stage but
``retired`` may be retired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tradeloop.domain.errors import TradeloopError


class Stage(StrEnum):
    CANDIDATE = "candidate"
    BACKTESTED = "backtested"
    PAPER = "paper"
    LIVE_CANDIDATE = "live_candidate"
    LIVE = "live"
    UNDER_REVIEW = "under_review"
    RETIRED = "retired"


ORDER: tuple[Stage, ...] = tuple(Stage)
MOVES: dict[Stage, frozenset[Stage]] = {
    Stage.CANDIDATE: frozenset({Stage.BACKTESTED, Stage.RETIRED}),
    Stage.BACKTESTED: frozenset({Stage.PAPER, Stage.RETIRED}),
    Stage.PAPER: frozenset({Stage.LIVE_CANDIDATE, Stage.RETIRED}),
    Stage.LIVE_CANDIDATE: frozenset({Stage.LIVE, Stage.RETIRED}),
    Stage.LIVE: frozenset({Stage.UNDER_REVIEW, Stage.RETIRED}),
    Stage.UNDER_REVIEW: frozenset({Stage.LIVE, Stage.RETIRED}),
    Stage.RETIRED: frozenset(),
}
# stages whose instance trades, and on what
TRADING: frozenset[Stage] = frozenset({Stage.PAPER, Stage.LIVE_CANDIDATE, Stage.LIVE,
                                       Stage.UNDER_REVIEW})
REAL_CAPITAL: frozenset[Stage] = frozenset({Stage.LIVE_CANDIDATE, Stage.LIVE,
                                            Stage.UNDER_REVIEW})


class StageError(TradeloopError):
    """A move the lifecycle does not allow."""


def check_move(before: Stage, after: Stage) -> None:
    if after not in MOVES[before]:
        allowed = ", ".join(sorted(MOVES[before])) or "none"
        raise StageError(f"a strategy cannot move from {before} to {after} (from {before}: "
                         f"{allowed})")


@dataclass(frozen=True)
class Check:
    """One criterion with its measured value: ``value <op> threshold``."""

    name: str
    value: float | None
    threshold: float
    op: str  # ">=" or "<="
    passed: bool

    def __str__(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.4g}"
        return f"{self.name} {shown} {self.op} {self.threshold:.4g}" + \
            ("" if self.passed else " (not met)")

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "threshold": self.threshold, "op": self.op,
                "passed": self.passed}


def at_least(name: str, value: float | None, threshold: float) -> Check:
    return Check(name, value, threshold, ">=", value is not None and value >= threshold)


def at_most(name: str, value: float | None, threshold: float) -> Check:
    return Check(name, value, threshold, "<=", value is not None and value <= threshold)


@dataclass(frozen=True)
class Transition:
    """One move of one instance, with the criteria that decided it and the reason."""

    instance: str
    before: Stage
    after: Stage
    at_ms: int
    reason: str
    checks: tuple[Check, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_move(self.before, self.after)

    def criteria(self) -> dict[str, dict[str, Any]]:
        return {c.name: c.as_dict() for c in self.checks}
