"""When the health checks run: an apscheduler BackgroundScheduler thread on a wall clock (so
they run even while the trading loop waits on the network), and the same IntervalTrigger
evaluated at simulated time in replay."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from tradeloop.domain.health import Health
from tradeloop.monitoring.health_checks import HealthMonitor

log = logging.getLogger("tradeloop.health")


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
