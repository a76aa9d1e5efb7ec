"""Health checks of a running deployment (seed 002's table), stored with a 0-100 health
score; failures alert, a max-drawdown breach asks for the automatic rollback. They run on a
schedule (``monitoring/schedules.py``) and read the deployment's records through
:class:`HealthData` (the store's queries)."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from tradeloop.domain.deployment_metrics import DeploymentMetrics
from tradeloop.domain.health import Health, HealthThresholds, assess
from tradeloop.ports import Notifier
from tradeloop.settings import Settings

log = logging.getLogger("tradeloop.health")
HOUR_MS = 3_600_000
APPROACHING = 0.8  # share of the drawdown limit that raises a critical "approaching" alert


def thresholds(settings: Settings) -> HealthThresholds:
    h = settings.deployment.health
    return HealthThresholds(settings.risk.max_drawdown_percent, h.min_win_rate,
                            h.min_trades_for_win_rate, h.max_error_rate,
                            h.max_transitions_per_hour, h.min_uptime, h.max_api_error_rate,
                            h.max_calibration_gap,
                            settings.continuous_learning.retraining.max_model_age_hours)


@dataclass(frozen=True)
class WindowCounts:
    """What a deployment did: closed trades since its start, the rest over the last hour."""

    trades: int
    wins: int
    pnl: float
    errors: int
    transitions: dict[str, int]
    api_requests: int
    api_errors: int
    calibration: tuple[str, float, int] | None = None  # worst gate: symbol, ECE, samples
    model_age: tuple[str, float] | None = None  # the oldest model: series, hours


class HealthData(Protocol):
    """The deployment records the checks read and write."""

    def counts(self, deployment_id: int, start_ms: int, since_ms: int, now_ms: int
               ) -> WindowCounts: ...

    def snapshots_after(self, deployment_id: int, last_id: int
                        ) -> list[tuple[int, int, float, int]]:
        """Equity snapshots with id > ``last_id``: (id, time ms, equity, events)."""
        ...

    def record_checks(self, deployment_id: int, now_ms: int, health: Health) -> None: ...


@dataclass
class _Tracked:
    """Running aggregates of a deployment's equity snapshots (read incrementally)."""

    last_time: int
    peak: float
    equity: float
    last_id: int = 0
    downtime: int = 0
    max_drawdown: float = 0.0
    events: int = 0
    recent: deque[tuple[int, int]] = field(default_factory=deque)


class HealthMonitor:
    """Runs the checks of one deployment, stores them and alerts on changes."""

    def __init__(self, data: HealthData, deployment_id: int, started_ms: int,
                 settings: Settings, notifier: Notifier | None,
                 initial_equity: float | None = None) -> None:
        self.data, self.deployment_id, self.started_ms = data, deployment_id, started_ms
        self.thresholds = thresholds(settings)
        self.initial_equity = initial_equity or settings.trading.initial_balance
        self.snapshot_ms = int(settings.deployment.snapshot_seconds * 1000)
        self.notifier = notifier
        self.passed_in_a_row = 0
        self.runs = 0
        self.last: Health | None = None
        self.last_ms: int | None = None
        self._failing: set[str] = set()
        self._approaching = False
        self._lock = threading.Lock()
        self._tracked = _Tracked(last_time=started_ms, peak=self.initial_equity,
                                 equity=self.initial_equity)

    def restart(self, now_ms: int) -> None:
        """Wipe Data: the account starts again at its initial equity (new peak) and the
        equity snapshots were deleted."""
        with self._lock:
            self._tracked = _Tracked(last_time=now_ms, peak=self.initial_equity,
                                     equity=self.initial_equity)
            self._approaching = False

    def check(self, now_ms: int) -> Health:
        """One round of checks at ``now_ms`` (thread-safe)."""
        with self._lock:
            if self.last is not None and self.last_ms == now_ms:
                return self.last  # already checked at this instant
            self.last_ms = now_ms
            return self._check(now_ms)

    def _check(self, now_ms: int) -> Health:
        self._track(now_ms)
        t = self._tracked
        hour_ago = now_ms - HOUR_MS
        w = self.data.counts(self.deployment_id, self.started_ms,
                             max(self.started_ms, hour_ago), now_ms)
        while len(t.recent) > 1 and t.recent[1][0] <= hour_ago:
            t.recent.popleft()  # keep one point at or before an hour ago
        events_hour = t.events - (t.recent[0][1] if t.recent and t.recent[0][0] <= hour_ago
                                  else 0)
        span = now_ms - self.started_ms
        tail = max(0, now_ms - t.last_time - 2 * self.snapshot_ms)
        uptime = 1.0 if span <= 0 else max(0.0, 1.0 - (t.downtime + tail) / span)
        # error rate and mode stability over the last hour; the rest since the start
        metrics = DeploymentMetrics(
            hours=1.0, trades=w.trades, wins=w.wins, pnl=w.pnl,
            initial_equity=self.initial_equity, final_equity=t.equity,
            max_drawdown=100.0 * t.max_drawdown, errors=w.errors, events=events_hour,
            transitions=w.transitions, uptime=uptime, api_requests=w.api_requests,
            api_errors=w.api_errors,
            calibration_gap=w.calibration[1] if w.calibration else None,
            calibration_samples=w.calibration[2] if w.calibration else 0,
            calibration_of=w.calibration[0] if w.calibration else "",
            model_age_hours=w.model_age[1] if w.model_age else None,
            model_age_of=w.model_age[0] if w.model_age else "")
        health = assess(metrics, self.thresholds)
        self.data.record_checks(self.deployment_id, now_ms, health)
        self._alert(health)
        self.runs += 1
        self.last = health
        return health

    def _track(self, now_ms: int) -> None:
        """Fold the equity snapshots written since the last check into the running state."""
        t = self._tracked
        for row_id, at, equity, events in self.data.snapshots_after(self.deployment_id,
                                                                     t.last_id):
            t.downtime += max(0, at - t.last_time - 2 * self.snapshot_ms)
            t.last_time, t.last_id = max(t.last_time, at), row_id
            t.peak = max(t.peak, equity)
            t.max_drawdown = max(t.max_drawdown, 1.0 - equity / t.peak if t.peak > 0 else 0.0)
            t.equity, t.events = float(equity), int(events)
            t.recent.append((at, int(events)))

    def _alert(self, health: Health) -> None:
        failed = {c.name: c for c in health.failed}
        if not failed:
            self.passed_in_a_row += 1
            if self.passed_in_a_row == 1 or self.passed_in_a_row % 12 == 0:
                log.info("✓ Health check passed (%d consecutive), score %.0f",
                         self.passed_in_a_row, health.score)
        else:
            self.passed_in_a_row = 0
            log.warning("⚠️  Health check: %d/%d failed (score %.0f): %s", len(failed),
                        len(health.checks), health.score, "; ".join(c.line() for c in
                                                                   failed.values()))
        dd = next(c for c in health.checks if c.name == "max_drawdown")
        if self.notifier is None:
            self._failing = set(failed)
            return
        for name, c in failed.items():
            if name not in self._failing:
                level = "critical" if name == "max_drawdown" else "warning"
                self.notifier.notify(level, f"Health check failed: {name}", c.line())
        for name in self._failing - set(failed):
            self.notifier.notify("info", f"Health check recovered: {name}", "passing again")
        self._failing = set(failed)
        near = dd.passed and dd.value >= APPROACHING * dd.threshold
        if near and not self._approaching:
            self.notifier.notify("critical", "Drawdown approaching the limit",
                                 f"drawdown {dd.value:.1f}% approaching the "
                                 f"{dd.threshold:.1f}% limit")
        self._approaching = near
