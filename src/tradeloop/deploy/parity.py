"""The replay side of ``tradeloop parity``: the engine run through the one runner over the
candles a deployment stored, with the model versions that served it and its retrains
replayed at the times they happened; everything the replay records is kept in memory and
compared with what the deployment recorded (``domain/parity.py``)."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from pathlib import Path

from tradeloop.domain.gate import Transition
from tradeloop.domain.parity import (
    RecordedOrder,
    RecordedPrediction,
    RecordedRetrain,
    RecordedTransition,
)
from tradeloop.domain.retraining import RetrainJob, RetrainResult
from tradeloop.domain.timeframes import Timeframe
from tradeloop.domain.trading import ClosedTrade, Fill, OrderRequest
from tradeloop.ports import Clock, ModelRef
from tradeloop.settings import Settings


class RecordingStore:
    """The Store port kept in memory: what the replay decided, nothing written."""

    mode = "parity"

    def __init__(self, instance: str = "main") -> None:
        self.instance = instance
        self.predictions: list[RecordedPrediction] = []
        self.orders: list[RecordedOrder] = []
        self.transitions: list[RecordedTransition] = []
        self.views: dict[str, RecordingStore] = {}

    def for_instance(self, instance: str, mode: str | None = None) -> RecordingStore:
        """Another strategy instance's decisions, kept apart from the compared ones."""
        return self.views.setdefault(instance, RecordingStore(instance))

    def prediction(self, now_ms: int, symbol: str, timeframe: str, candle_time: int,
                   direction: str, probs: tuple[float, float, float], confidence: float,
                   version: str, mode: str) -> None:
        self.predictions.append(RecordedPrediction(now_ms, symbol, timeframe, candle_time,
                                                   direction, probs, version))

    def confidence(self, now_ms: int, symbol: str, score: float, direction: str, mode: str,
                   threshold: float) -> None:
        return None

    def transition(self, t: Transition) -> None:
        self.transitions.append(RecordedTransition(t.time_ms, t.symbol, str(t.mode), t.reason))

    def order(self, order: OrderRequest, status: str, now_ms: int, reason: str | None = None
              ) -> None:
        self.orders.append(RecordedOrder(now_ms, order.symbol, str(order.side), "placed",
                                         order.quantity, reason or order.reason))

    def refusal(self, symbol: str, side: str, reason: str, now_ms: int, seq: int) -> None:
        self.orders.append(RecordedOrder(now_ms, symbol, side, "refused", 0.0, reason))

    def fill(self, fill: Fill, stop: float | None, take: float | None) -> None:
        return None

    def trade(self, trade: ClosedTrade, timeframe: str | None, version: str | None,
              book: float | None = None) -> None:
        return None

    def retraining(self, row: dict[str, object]) -> None:
        return None

    def drift(self, now_ms: int, symbol: str, timeframe: str, feature_drift: float,
              threshold: float, error_drift: float, triggered: bool) -> None:
        return None

    def error(self, now_ms: int, error_type: str, message: str, symbol: str | None = None,
              timeframe: str | None = None, component: str | None = None) -> None:
        return None

    def flush(self) -> None:
        return None


class ServedVersions:
    """The ModelRegistry port of a replay: for each series, the model version the
    deployment served for the candle that closes now (by its recorded predictions)."""

    def __init__(self, settings: Settings, predictions: list[RecordedPrediction],
                 model_file: Callable[[str, str, str], Path], clock: Clock) -> None:
        self.model_file, self.clock = model_file, clock
        self._tf_ms = {tf: Timeframe.parse(tf).ms for tf in settings.timeframes.names}
        self._times: dict[tuple[str, str], list[int]] = {}
        self._versions: dict[tuple[str, str], list[str]] = {}
        for p in sorted(predictions, key=lambda p: p.candle_time):
            self._times.setdefault((p.symbol, p.timeframe), []).append(p.candle_time)
            self._versions.setdefault((p.symbol, p.timeframe), []).append(p.version)

    def champion(self, symbol: str, timeframe: str) -> ModelRef | None:
        key = (symbol, timeframe)
        times = self._times.get(key)
        if not times:
            return None
        candle = self.clock.now_ms() - self._tf_ms[timeframe]
        i = max(0, bisect.bisect_right(times, candle) - 1)
        version = self._versions[key][i]
        return ModelRef(symbol, timeframe, version, self.model_file(symbol, timeframe, version))


class RecordedRetrains:
    """The RetrainRunner port of a replay: a retrain the deployment ran is "finished" when
    it finished live (the gate holds the symbol meanwhile, as it did live); one the live run
    did not have is reported and finished at once."""

    def __init__(self, retrains: list[RecordedRetrain], clock: Clock) -> None:
        self.clock = clock
        self._recorded = {(r.symbol, r.timeframe, r.triggered_ms): r for r in retrains}
        self._running: list[tuple[RetrainJob, int]] = []
        self.unmatched: list[RetrainJob] = []

    def submit(self, job: RetrainJob) -> None:
        rec = self._recorded.get((job.symbol, job.timeframe, job.triggered_ms))
        if rec is None:
            self.unmatched.append(job)
        self._running.append((job, rec.finished_ms if rec else job.triggered_ms))

    def poll(self) -> list[tuple[RetrainJob, RetrainResult]]:
        now = self.clock.now_ms()
        done = [(j, t) for j, t in self._running if t <= now]
        self._running = [(j, t) for j, t in self._running if t > now]
        return [(j, RetrainResult(j.symbol, j.timeframe, None, None, False,
                                  "replayed: the served versions come from the record"))
                for j, _ in done]

    def run(self, job: RetrainJob) -> RetrainResult:
        return RetrainResult(job.symbol, job.timeframe, None, None, False,
                             "replayed: no training in a parity run")

    def close(self, *, wait: bool = True) -> None:
        return None
