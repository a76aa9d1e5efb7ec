"""A circuit breaker for calls to one exchange: after ``threshold`` consecutive failures the
circuit opens and calls fail at once for ``cooldown_seconds``; then one probe is let through
(half-open): its success closes the circuit, its failure opens it again."""

from __future__ import annotations

import threading

from tradeloop.domain.errors import CircuitOpenError
from tradeloop.ports import Clock

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    """Closed -> open after ``threshold`` failures in a row -> half-open after the cooldown."""

    def __init__(self, clock: Clock, *, threshold: int = 5, cooldown_seconds: float = 30.0,
                 name: str = "exchange") -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.clock, self.threshold, self.name = clock, threshold, name
        self.cooldown_ms = int(cooldown_seconds * 1000)
        self.failures = 0
        self.opened_at: int | None = None
        self.opens = 0  # how many times the circuit has opened
        self._probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if self.clock.now_ms() - self.opened_at >= self.cooldown_ms:
            return HALF_OPEN
        return OPEN

    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` unless a call may go out now."""
        with self._lock:
            state = self.state
            if state == CLOSED:
                return
            if state == HALF_OPEN and not self._probing:
                self._probing = True  # exactly one probe while half-open
                return
            assert self.opened_at is not None
            left = (self.opened_at + self.cooldown_ms - self.clock.now_ms()) / 1000
            raise CircuitOpenError(
                f"{self.name}: circuit open after {self.failures} consecutive failures; "
                f"next attempt in {max(0.0, left):.0f}s")

    def success(self) -> None:
        with self._lock:
            self.failures, self.opened_at, self._probing = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self._probing or self.failures >= self.threshold:
                if self.opened_at is None or self._probing:
                    self.opens += 1
                self.opened_at = self.clock.now_ms()
                self._probing = False

    def wait_seconds(self) -> float:
        """Seconds until the circuit lets a probe through (0 when closed or half-open)."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, (self.opened_at + self.cooldown_ms - self.clock.now_ms()) / 1000)
