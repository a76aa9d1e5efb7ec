"""Scheduled health checks of a running deployment (seed 002's table), stored with a 0-100
health score; failures alert, a max-drawdown breach asks for the automatic rollback.

The checks run on an apscheduler schedule: a BackgroundScheduler thread on a wall clock (so
they run even while the trading loop waits on the network), and the same IntervalTrigger
evaluated at simulated time in replay.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, insert, select, update

from tradeloop.adapters.store.schema import DeploymentRow, EquityHistoryRow, HealthCheckRow
from tradeloop.adapters.store.trading_store import ms_of, ts
from tradeloop.deploy.metrics import api_counts, error_count, trade_totals, transition_counts
from tradeloop.domain.health import DeploymentMetrics, Health, HealthThresholds, assess
from tradeloop.ports import Notifier
from tradeloop.settings import Settings

log = logging.getLogger("tradeloop.health")
HOUR_MS = 3_600_000
APPROACHING = 0.8  # share of the drawdown limit that raises a critical "approaching" alert


def thresholds(settings: Settings) -> HealthThresholds:
    h = settings.deployment.health
    return HealthThresholds(settings.risk.max_drawdown_percent, h.min_win_rate,
                            h.min_trades_for_win_rate, h.max_error_rate,
                            h.max_transitions_per_hour, h.min_uptime, h.max_api_error_rate)


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

    def __init__(self, engine: Engine, deployment_id: int, started_ms: int,
                 settings: Settings, notifier: Notifier | None,
                 initial_equity: float | None = None) -> None:
        self.engine, self.deployment_id, self.started_ms = engine, deployment_id, started_ms
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
        lo, hi = ts(self.started_ms), ts(now_ms)
        since = ts(max(self.started_ms, hour_ago))
        with self.engine.connect() as conn:
            n, wins, pnl = trade_totals(conn, self.deployment_id, lo, hi)
            errors = error_count(conn, self.deployment_id, since, hi)
            transitions = transition_counts(conn, self.deployment_id, since, hi)
            api_requests, api_errors = api_counts(conn, self.deployment_id, since, hi)
        while len(t.recent) > 1 and t.recent[1][0] <= hour_ago:
            t.recent.popleft()  # keep one point at or before an hour ago
        events_hour = t.events - (t.recent[0][1] if t.recent and t.recent[0][0] <= hour_ago
                                  else 0)
        span = now_ms - self.started_ms
        tail = max(0, now_ms - t.last_time - 2 * self.snapshot_ms)
        uptime = 1.0 if span <= 0 else max(0.0, 1.0 - (t.downtime + tail) / span)
        # error rate and mode stability over the last hour; the rest since the start
        metrics = DeploymentMetrics(
            hours=1.0, trades=n, wins=wins, pnl=pnl, initial_equity=self.initial_equity,
            final_equity=t.equity, max_drawdown=100.0 * t.max_drawdown, errors=errors,
            events=events_hour, transitions=transitions, uptime=uptime,
            api_requests=api_requests, api_errors=api_errors)
        health = assess(metrics, self.thresholds)
        self._store(now_ms, health)
        self._alert(health)
        self.runs += 1
        self.last = health
        return health

    def _track(self, now_ms: int) -> None:
        """Fold the equity snapshots written since the last check into the running state."""
        t = self._tracked
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(EquityHistoryRow.id, EquityHistoryRow.timestamp,
                       EquityHistoryRow.equity, EquityHistoryRow.events)
                .where(EquityHistoryRow.deployment_id == self.deployment_id,
                       EquityHistoryRow.id > t.last_id)
                .order_by(EquityHistoryRow.id)).all()
        for row_id, stamp, equity, events in rows:
            at = ms_of(stamp)
            t.downtime += max(0, at - t.last_time - 2 * self.snapshot_ms)
            t.last_time, t.last_id = max(t.last_time, at), row_id
            t.peak = max(t.peak, equity)
            t.max_drawdown = max(t.max_drawdown, 1.0 - equity / t.peak if t.peak > 0 else 0.0)
            t.equity, t.events = float(equity), int(events)
            t.recent.append((at, int(events)))

    def _store(self, now_ms: int, health: Health) -> None:
        rows = [{"timestamp": ts(now_ms), "deployment_id": self.deployment_id,
                 "check_name": c.name, "passed": c.passed, "value": c.value,
                 "threshold": c.threshold,
                 "severity": "info" if c.passed else
                 ("critical" if c.name == "max_drawdown" else "warning"),
                 "message": c.line(), "health_score": health.score} for c in health.checks]
        with self.engine.begin() as conn:
            conn.execute(insert(HealthCheckRow), rows)
            conn.execute(update(DeploymentRow).where(DeploymentRow.id == self.deployment_id)
                         .values(health_score=health.score))

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


class SimulatedSchedule:
    """The checks' apscheduler trigger evaluated at simulated time (replay)."""

    def __init__(self, monitor: HealthMonitor, interval_ms: int, started_ms: int) -> None:
        self.monitor = monitor
        start = _dt(started_ms)
        self.trigger = IntervalTrigger(seconds=interval_ms / 1000, start_date=start,
                                       timezone=UTC)
        self._next = self.trigger.get_next_fire_time(None, start + timedelta(milliseconds=1))

    def due(self, now_ms: int, before: Callable[[], None] | None = None) -> Health | None:
        """Run the checks if a fire time has passed (calling ``before`` first); at most one
        round per call."""
        now = _dt(now_ms)
        if self._next is None or now < self._next:
            return None
        if before is not None:
            before()
        self._next = self.trigger.get_next_fire_time(self._next, now)
        while self._next is not None and self._next <= now:
            self._next = self.trigger.get_next_fire_time(self._next, now)
        return self.monitor.check(now_ms)

    def stop(self) -> None:
        return None


class BackgroundSchedule:
    """The checks on an apscheduler BackgroundScheduler (wall clock); the loop reads the
    latest result with ``due``."""

    def __init__(self, monitor: HealthMonitor, interval_ms: int,
                 now: Callable[[], int]) -> None:
        self.monitor, self.now = monitor, now
        self._fresh: Health | None = None
        self._guard = threading.Lock()
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.scheduler.add_job(self._run, IntervalTrigger(seconds=interval_ms / 1000),
                               id="health", max_instances=1, coalesce=True)
        self.scheduler.start()

    def _run(self) -> None:
        try:
            health = self.monitor.check(self.now())
        except Exception:  # a failing check must not kill the scheduler thread
            log.exception("health check failed to run")
            return
        with self._guard:
            self._fresh = health

    def due(self, now_ms: int, before: Callable[[], None] | None = None) -> Health | None:
        with self._guard:
            health, self._fresh = self._fresh, None
        return health

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
