"""Client-side request rate limiting (token bucket) on the Clock port."""

from __future__ import annotations

import threading

from tradeloop.ports import Clock


class RateLimiter:
    """At most ``per_minute`` requests per minute, in bursts of at most ``burst``.

    ``acquire`` blocks (through the clock) until a token is free, so the observed request
    rate never exceeds the limit.
    """

    def __init__(self, per_minute: float, clock: Clock, *, burst: int = 1) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.interval_s = 60.0 / per_minute
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._last_ms = clock.now_ms()
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = self.clock.now_ms()
            self._tokens = min(self.burst, self._tokens + (now - self._last_ms) / 1000
                               / self.interval_s)
            self._last_ms = now
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) * self.interval_s
                self.clock.sleep(wait)
                self.waited_s += wait
                self._tokens = 1.0
                self._last_ms = self.clock.now_ms()
            self._tokens -= 1.0
