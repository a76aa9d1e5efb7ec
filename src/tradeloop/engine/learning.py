"""The continuous-learning controller: retraining triggers, cooldowns, promotion records.

Triggers: ``loss_immediate`` (a losing trade, when ``on_loss``), ``drift`` (feature PSI
against the serving champion's training window over its calibrated thresholds in
``drift_confirmations`` consecutive checks, or Page-Hinkley on the prediction misses),
``scheduled`` and ``manual``; each is stamped at the close of the candle that raised it. Each
(symbol, timeframe) has a cooldown of ``min_interval_hours``. While a symbol retrains, the gate
holds it in LEARNING. A runner executes the jobs in a worker process: waited for at simulated
time in replay (deterministic), polled in paper/live. Triggers are decided on candle closes
only (never on a heartbeat), so a replay with heartbeats and one without give the same
retrains.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tradeloop.domain import model_age
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.gate import RETRAINING, Gate, Transition
from tradeloop.domain.retraining import RetrainJob, RetrainResult, retraining_row
from tradeloop.domain.signals import Prediction
from tradeloop.domain.timeframes import Timeframe
from tradeloop.domain.trading import ClosedTrade
from tradeloop.engine.candle_book import CandleBook
from tradeloop.ml.drift import WINDOW as DRIFT_WINDOW
from tradeloop.ml.drift import PageHinkley
from tradeloop.ml.features import LOOKBACK, compute_features
from tradeloop.ports import DriftReference, RetrainRunner, Store

log = logging.getLogger("tradeloop.learning")
# candles of a series a feature-drift check reads (its window and the features' lookback)
DRIFT_HISTORY = DRIFT_WINDOW + LOOKBACK
RECENT_RESULTS = 1000  # outcomes kept in memory (the store keeps them all)
HOUR_MS = 3_600_000


@dataclass
class _Series:
    pending: deque[tuple[int, str]] = field(default_factory=deque)  # (index, direction)
    errors: PageHinkley = field(default_factory=PageHinkley)
    since_check: int = 0
    over: int = 0  # consecutive feature-drift checks over the threshold ...
    version: str | None = None  # ... of this model version


class LearningController:
    """Decides when to retrain, runs the jobs through a runner and records the outcomes."""

    def __init__(self, *, symbols: list[str], timeframes: list[str], weights: dict[str, float],
                 exchange: str, on_loss: bool, min_interval_ms: int, schedule_ms: int | None,
                 drift_threshold: float, drift_confirmations: int, horizons: dict[str, int],
                 gate: Gate,
                 store: Store, book: CandleBook, runner: RetrainRunner,
                 references: Callable[[str, str], DriftReference | None],
                 on_transition: Callable[[Transition], None],
                 model_time: Callable[[str, str], int | None] | None = None,
                 max_age_ms: int | None = None, capacity: int = 1) -> None:
        self.symbols, self.timeframes, self.weights = symbols, timeframes, weights
        self.exchange = exchange
        self.on_loss, self.min_interval_ms, self.schedule_ms = on_loss, min_interval_ms, schedule_ms
        self.drift_threshold = drift_threshold
        self.horizons = horizons  # label bars per timeframe: when a prediction's hit is known
        self.drift_confirmations = drift_confirmations
        self.references = references
        self.gate, self.store, self.book, self.runner = gate, store, book, runner
        self.on_transition = on_transition
        self._last: dict[tuple[str, str], int] = {}
        self._running: set[tuple[str, str]] = set()
        self._series: dict[SeriesKey, _Series] = {}
        self._schedule_from: int | None = None
        # the model-age budget (domain/model_age.py)
        self.model_time, self.max_age_ms, self.capacity = model_time, max_age_ms, capacity
        self._confirmed: dict[tuple[str, str], int] = {}  # a retrain judged it fresh then
        self._failures: Counter[tuple[str, str]] = Counter()  # refreshes failed in a row
        self._not_before: dict[tuple[str, str], int] = {}  # backing off until
        self._now_ms = 0
        self.results: deque[tuple[RetrainJob, RetrainResult]] = deque(maxlen=RECENT_RESULTS)
        self._counts: Counter[str] = Counter()

    def primary_timeframe(self) -> str:
        return max(self.timeframes, key=lambda t: (self.weights.get(t, 0.0), Timeframe.parse(t)))

    # -- triggers -------------------------------------------------------------------------
    def request(self, symbol: str, timeframe: str, reason: str, now_ms: int) -> bool:
        """Start a retrain unless one runs for the series or its cooldown is on (an
        operator's ``manual`` request skips the cooldown). True when it started."""
        job = RetrainJob(symbol, timeframe, reason, now_ms)
        self._now_ms = max(self._now_ms, now_ms)
        key = (symbol, timeframe)
        if key in self._running:
            self._counts["skipped_running"] += 1
            return False
        last = self._last.get(key)
        if reason != "manual" and last is not None and now_ms - last < self.min_interval_ms:
            self._counts["skipped_cooldown"] += 1
            log.info("[%s @ %s] retraining (%s) skipped: cooldown of %.1fh", symbol, timeframe,
                     reason, self.min_interval_ms / 3_600_000)
            return False
        log.info("[%s @ %s] Retraining triggered: %s", symbol, timeframe, reason)
        log.info("⚙ [%s_%s] Starting retraining (reason: %s)", symbol, timeframe, reason)
        self._running.add(key)
        t = self.gate.hold(symbol, RETRAINING, now_ms)
        if t is not None:
            self.on_transition(t)
        self.runner.submit(job)
        self._collect()
        return True

    def on_trade_closed(self, symbol: str, trade: ClosedTrade, now_ms: int) -> None:
        if self.on_loss and not trade.won:
            self.request(symbol, self.primary_timeframe(), "loss_immediate", now_ms)

    def on_prediction(self, key: SeriesKey, index: int, prediction: Prediction) -> None:
        s = self._series.setdefault(key, _Series())
        if prediction.direction != "flat":
            s.pending.append((index, prediction.direction))
        horizon = self.horizons.get(key.timeframe, 1)
        while s.pending and s.pending[0][0] + horizon <= index:
            i, direction = s.pending.popleft()
            then = self.book.candle(key, i).close
            later = self.book.candle(key, i + horizon).close
            hit = (later > then) if direction == "up" else (later < then)
            if s.errors.update(0.0 if hit else 1.0):
                self.request(key.symbol, key.timeframe, "drift",
                             self._closed_ms(key, prediction))
        s.since_check += 1
        if s.since_check >= DRIFT_WINDOW:
            s.since_check = 0
            self._check_features(key, s, index, prediction)

    def _check_features(self, key: SeriesKey, s: _Series, index: int,
                        prediction: Prediction) -> None:
        reference = self.references(key.symbol, key.timeframe)
        if reference is None or index + 1 < DRIFT_HISTORY:
            return
        if s.version != prediction.model_version:
            s.version, s.over = prediction.model_version, 0
        recent = compute_features(self.book.window(key, index, DRIFT_HISTORY))
        score = reference.score(recent[-reference.window:])
        s.over = s.over + 1 if score >= self.drift_threshold else 0
        triggered = s.over >= self.drift_confirmations
        closed_ms = self._closed_ms(key, prediction)
        self.store.drift(closed_ms, key.symbol, key.timeframe, score, self.drift_threshold,
                         s.errors.level, triggered)
        if triggered:
            s.over = 0
            log.info("[%s @ %s] feature drift: %.0f%% of features beyond their thresholds "
                     "in %d checks in a row", key.symbol, key.timeframe, 100 * score,
                     self.drift_confirmations)
            self.request(key.symbol, key.timeframe, "drift", closed_ms)

    @staticmethod
    def _closed_ms(key: SeriesKey, prediction: Prediction) -> int:
        """When the predicted candle closed: the time a trigger on it happens at."""
        return prediction.candle_time + Timeframe.parse(key.timeframe).ms

    def on_tick(self, now_ms: int) -> None:
        """A candle close at ``now_ms``: scheduled retrains fall due, finished jobs are
        recorded."""
        self._now_ms = max(self._now_ms, now_ms)
        if self.schedule_ms:
            if self._schedule_from is None:
                self._schedule_from = now_ms
            elif now_ms - self._schedule_from >= self.schedule_ms:
                self._schedule_from = now_ms
                for symbol in self.symbols:
                    for tf in self.timeframes:
                        self.request(symbol, tf, "scheduled", now_ms)
        if self.max_age_ms:
            self._keep_within_budget(now_ms, self.max_age_ms)
        self._collect()

    def _keep_within_budget(self, now_ms: int, budget_ms: int) -> None:
        """Refresh the oldest models due (domain/model_age.py); their ages are read only
        when a job can start."""
        self._collect()  # the jobs that finished free their places
        free = self.capacity - len(self._running)
        if free <= 0:
            return
        waiting = {k for k, until in self._not_before.items() if now_ms < until}
        waiting |= {k for k, last in self._last.items() if now_ms - last < self.min_interval_ms}
        for symbol, tf in model_age.due(self.ages(now_ms), budget_ms, self._running | waiting,
                                        free):
            self.request(symbol, tf, "model_age", now_ms)

    def ages(self, now_ms: int) -> dict[tuple[str, str], int]:
        """Each series' model age (ms) at ``now_ms`` (domain/model_age.py)."""
        if self.model_time is None:
            return {}
        trained = {(s, tf): self.model_time(s, tf) for s in self.symbols
                   for tf in self.timeframes}
        return model_age.ages(now_ms, trained, self._confirmed)

    def poll(self, now_ms: int) -> None:
        """Between candles (a heartbeat): record the jobs that have finished."""
        self._now_ms = max(self._now_ms, now_ms)
        self._collect()

    # -- outcomes -------------------------------------------------------------------------
    def _collect(self) -> None:
        for job, res in self.runner.poll():
            key = (job.symbol, job.timeframe)
            self._running.discard(key)
            self._last[key] = job.triggered_ms
            if res.refreshed:  # made, or kept by a paired test on the data up to then
                self._confirmed[key] = max(self._confirmed.get(key, 0), job.triggered_ms)
                self._failures.pop(key, None)
                self._not_before.pop(key, None)
            elif job.reason == "model_age":  # back off: 2, 4, 8 ... cooldowns (at most 64)
                self._failures[key] += 1
                self._not_before[key] = job.triggered_ms + max(self.min_interval_ms, HOUR_MS) \
                    * 2 ** min(self._failures[key], 6)
            if not any(k[0] == job.symbol for k in self._running):
                self.gate.release(job.symbol, RETRAINING)
            self.results.append((job, res))
            self._counts["retrains"] += 1
            self._counts["promoted"] += res.promoted
            self._counts[f"trigger_{job.reason}"] += 1
            self.store.retraining(retraining_row(job, res, self._now_ms))
            label = f"[{job.symbol}_{job.timeframe}]"
            if res.error:
                log.warning("✗ %s Retraining failed: %s", label, res.error)
                self.store.error(job.triggered_ms, "RetrainingFailed", res.error, job.symbol,
                                 job.timeframe, "learning")
                continue
            conf = res.validation_confidence or float("nan")
            log.info("✓ %s Retraining successful! Confidence: %.2f%%, Duration: %.1fs", label,
                     100 * conf, res.seconds)
            verdict = "promoted to champion" if res.promoted else "discarded"
            log.info("  %s challenger v%s %s: %s", label, res.version, verdict, res.reason)

    def reset(self) -> None:
        """Wipe Data: forget drift references, miss streams and cooldowns (running retrains
        finish and are recorded)."""
        self._series.clear()
        self._last.clear()
        self._confirmed.clear()
        self._failures.clear()
        self._not_before.clear()
        self.results.clear()
        self._counts.clear()

    def stats(self) -> dict[str, int]:
        c = self._counts
        return {"retrains": c["retrains"], "promoted": c["promoted"],
                **{k: c[k] for k in sorted(c) if k.startswith("trigger_")},
                "skipped_cooldown": c["skipped_cooldown"]}


