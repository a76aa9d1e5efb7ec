"""Counters of the exchange edge, for the health checks, the monitor and the dashboard:
request and error rates, ticker-cache hit rate and websocket uptime."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricsSnapshot:
    """Totals since start and rates over the last minute."""

    requests: int
    errors: int
    retries: int
    requests_last_minute: int
    errors_last_minute: int
    max_requests_per_minute: int
    cache_hits: int
    cache_misses: int
    ws_connected_seconds: float
    ws_seconds: float
    circuit_state: str
    circuit_opens: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def cache_hit_rate(self) -> float | None:
        total = self.cache_hits + self.cache_misses
        return self.cache_hits / total if total else None

    @property
    def ws_uptime(self) -> float | None:
        return self.ws_connected_seconds / self.ws_seconds if self.ws_seconds > 0 else None


class ExchangeMetrics:
    """Thread-safe counters; time in milliseconds from the caller's clock."""

    def __init__(self) -> None:
        self.requests = self.errors = self.retries = 0
        self.cache_hits = self.cache_misses = 0
        self.max_per_minute = 0
        self._times: deque[int] = deque()
        self._error_times: deque[int] = deque()
        self._ws_since: int | None = None  # websocket watched since
        self._ws_up_since: int | None = None
        self._ws_up_ms = 0
        self._lock = threading.Lock()

    @staticmethod
    def _trim(times: deque[int], now: int) -> None:
        while times and times[0] <= now - 60_000:
            times.popleft()

    def request(self, now: int) -> None:
        with self._lock:
            self.requests += 1
            self._times.append(now)
            self._trim(self._times, now)
            self.max_per_minute = max(self.max_per_minute, len(self._times))

    def error(self, now: int) -> None:
        with self._lock:
            self.errors += 1
            self._error_times.append(now)
            self._trim(self._error_times, now)

    def retry(self) -> None:
        with self._lock:
            self.retries += 1

    def cache(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.cache_hits += 1
            else:
                self.cache_misses += 1

    def websocket(self, connected: bool, now: int) -> None:
        """The websocket went up (``connected``) or down at ``now``."""
        with self._lock:
            if self._ws_since is None:
                self._ws_since = now
            if connected and self._ws_up_since is None:
                self._ws_up_since = now
            elif not connected and self._ws_up_since is not None:
                self._ws_up_ms += now - self._ws_up_since
                self._ws_up_since = None

    def snapshot(self, now: int, circuit_state: str = "closed", circuit_opens: int = 0
                 ) -> MetricsSnapshot:
        with self._lock:
            self._trim(self._times, now)
            self._trim(self._error_times, now)
            up = self._ws_up_ms + (now - self._ws_up_since if self._ws_up_since is not None
                                   else 0)
            watched = now - self._ws_since if self._ws_since is not None else 0
            return MetricsSnapshot(self.requests, self.errors, self.retries, len(self._times),
                                   len(self._error_times), self.max_per_minute,
                                   self.cache_hits, self.cache_misses, up / 1000,
                                   watched / 1000, circuit_state, circuit_opens)
