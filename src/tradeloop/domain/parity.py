"""Live-vs-replay parity: a deployment's recorded predictions, orders and mode changes
compared one by one with a replay of the same candles and models, and the first divergence
with its most likely cause. Pure: the records come in, a report comes out."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

PROB_TOLERANCE = 1e-9  # the same model on the same candles gives the same floats
QTY_TOLERANCE = 1e-9  # relative


@dataclass(frozen=True)
class RecordedPrediction:
    time_ms: int
    symbol: str
    timeframe: str
    candle_time: int
    direction: str
    probabilities: tuple[float, float, float]
    version: str

    @property
    def key(self) -> tuple[str, str, int]:
        return self.symbol, self.timeframe, self.candle_time


@dataclass(frozen=True)
class RecordedOrder:
    time_ms: int
    symbol: str
    side: str
    kind: str  # placed | refused
    quantity: float
    reason: str


@dataclass(frozen=True)
class RecordedTransition:
    time_ms: int
    symbol: str
    mode: str
    reason: str


@dataclass(frozen=True)
class RecordedRetrain:
    symbol: str
    timeframe: str
    reason: str
    triggered_ms: int
    finished_ms: int


@dataclass(frozen=True)
class Divergence:
    kind: str  # prediction | order | transition
    time_ms: int
    live: str
    replay: str
    cause: str

    def line(self) -> str:
        return f"{self.kind} at {self.time_ms}: live {self.live} / replay {self.replay} " \
               f"({self.cause})"


@dataclass(frozen=True)
class ParitySummary:
    deployment_id: int
    predictions: int
    predictions_matched: int
    orders: int
    orders_matched: int
    identical: bool
    first_divergence: str | None


@dataclass
class ParityReport:
    deployment_id: int
    mode: str
    start_ms: int
    end_ms: int
    predictions_live: int
    predictions_replay: int
    predictions_matched: int
    orders_live: int
    orders_replay: int
    orders_matched: int
    transitions_live: int
    transitions_replay: int
    transitions_matched: int
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.divergences

    @property
    def first(self) -> Divergence | None:
        return min(self.divergences, key=lambda d: d.time_ms) if self.divergences else None

    def summary(self) -> ParitySummary:
        first = self.first
        return ParitySummary(self.deployment_id, self.predictions_live,
                             self.predictions_matched, self.orders_live, self.orders_matched,
                             self.identical, first.line() if first else None)

    def share(self, matched: int, live: int, replay: int) -> float:
        n = max(live, replay)
        return 1.0 if n == 0 else matched / n

    def as_dict(self) -> dict[str, Any]:
        first = self.first
        return {
            "deployment_id": self.deployment_id, "mode": self.mode,
            "window": {"start_ms": self.start_ms, "end_ms": self.end_ms},
            "identical": self.identical,
            "predictions": {"live": self.predictions_live, "replay": self.predictions_replay,
                            "matched": self.predictions_matched,
                            "share": self.share(self.predictions_matched,
                                                self.predictions_live,
                                                self.predictions_replay)},
            "orders": {"live": self.orders_live, "replay": self.orders_replay,
                       "matched": self.orders_matched,
                       "share": self.share(self.orders_matched, self.orders_live,
                                           self.orders_replay)},
            "transitions": {"live": self.transitions_live, "replay": self.transitions_replay,
                            "matched": self.transitions_matched},
            "first_divergence": asdict(first) if first else None,
            "divergences": [asdict(d) for d in self.divergences[:50]],
        }


def _same_prediction(a: RecordedPrediction, b: RecordedPrediction) -> bool:
    return a.direction == b.direction and a.version == b.version and all(
        abs(x - y) <= PROB_TOLERANCE for x, y in zip(a.probabilities, b.probabilities,
                                                      strict=True))


def _same_order(a: RecordedOrder, b: RecordedOrder) -> bool:
    if (a.time_ms, a.symbol, a.side, a.kind) != (b.time_ms, b.symbol, b.side, b.kind):
        return False
    return math.isclose(a.quantity, b.quantity, rel_tol=QTY_TOLERANCE, abs_tol=1e-12)


def _order_text(o: RecordedOrder | None) -> str:
    if o is None:
        return "nothing"
    return f"{o.kind} {o.side} {o.symbol} {o.quantity:.8g} ({o.reason[:80]})"


def compare(deployment_id: int, mode: str, start_ms: int, end_ms: int, *,
            live_predictions: list[RecordedPrediction],
            replay_predictions: list[RecordedPrediction],
            live_orders: list[RecordedOrder], replay_orders: list[RecordedOrder],
            live_transitions: list[RecordedTransition],
            replay_transitions: list[RecordedTransition]) -> ParityReport:
    """Compare a deployment's records with its replay; every divergence gets a cause."""
    report = ParityReport(deployment_id, mode, start_ms, end_ms, len(live_predictions),
                          len(replay_predictions), 0, len(live_orders), len(replay_orders), 0,
                          len(live_transitions), len(replay_transitions), 0)
    replayed = {p.key: p for p in replay_predictions}
    live_keys = set()
    for p in live_predictions:
        live_keys.add(p.key)
        r = replayed.get(p.key)
        if r is not None and _same_prediction(p, r):
            report.predictions_matched += 1
            continue
        if r is None:
            cause = "the replay has no prediction for this candle (candle not stored, or " \
                    "the model file is gone)"
        elif r.version != p.version:
            cause = f"model version differs (live v{p.version}, replay v{r.version})"
        else:
            cause = "same model, different output: the candles or features differ"
        report.divergences.append(Divergence(
            "prediction", p.time_ms, f"{p.symbol} {p.timeframe} {p.direction} {p.probabilities}",
            "nothing" if r is None else f"{r.direction} {r.probabilities}", cause))
    for r in replay_predictions:
        if r.key not in live_keys:
            report.divergences.append(Divergence(
                "prediction", r.time_ms, "nothing",
                f"{r.symbol} {r.timeframe} {r.direction}",
                "the live run made no prediction for this candle (missing candle, stale "
                "data or a model that failed to load live)"))
    holds = {"stale market data", "operator pause", "error", "retraining", "not yet deployed"}
    n = max(len(live_orders), len(replay_orders))
    for i in range(n):
        a = live_orders[i] if i < len(live_orders) else None
        b = replay_orders[i] if i < len(replay_orders) else None
        if a is not None and b is not None and _same_order(a, b):
            report.orders_matched += 1
            continue
        at = min(x.time_ms for x in (a, b) if x is not None)
        diverging_modes = [t for t in live_transitions if t.time_ms <= at and
                           t not in replay_transitions and t.reason in holds]
        if diverging_modes:
            t = diverging_modes[-1]
            cause = f"the live run held {t.symbol} ({t.reason}) at {t.time_ms}; the replay " \
                    f"cannot reproduce that"
        elif a is not None and b is not None and (a.time_ms, a.symbol, a.side, a.kind) == \
                (b.time_ms, b.symbol, b.side, b.kind):
            cause = "same decision, different size: the account's equity differs " \
                    "(exchange fills, fees or a position carried over)"
        else:
            cause = "the decision differs: an earlier fill, position or mode differs"
        report.divergences.append(Divergence("order", at, _order_text(a), _order_text(b),
                                             cause))
        break  # after the first order divergence the account paths differ anyway
    live_t = [(t.time_ms, t.symbol, t.mode, t.reason) for t in live_transitions]
    replay_t = [(t.time_ms, t.symbol, t.mode, t.reason) for t in replay_transitions]
    for i, (a_t, b_t) in enumerate(zip(live_t, replay_t, strict=False)):
        if a_t != b_t:
            report.divergences.append(Divergence(
                "transition", min(a_t[0], b_t[0]), str(a_t), str(b_t),
                "a mode change differs (see the first prediction or order divergence)"))
            report.transitions_matched = i
            break
    else:
        report.transitions_matched = min(len(live_t), len(replay_t))
        if len(live_t) != len(replay_t):
            longer = live_t if len(live_t) > len(replay_t) else replay_t
            extra = longer[report.transitions_matched]
            report.divergences.append(Divergence(
                "transition", extra[0], str(extra) if longer is live_t else "nothing",
                str(extra) if longer is replay_t else "nothing",
                "one run changed mode where the other did not"))
    return report
