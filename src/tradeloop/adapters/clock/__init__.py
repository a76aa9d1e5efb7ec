"""Clocks: wall time for paper/live, simulated time for replay."""

from __future__ import annotations

import time


class WallClock:
    """Real time."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class SimClock:
    """Simulated time, moved only by whoever drives it (the replay, a test)."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = int(start_ms)

    def now_ms(self) -> int:
        return self._now

    def set(self, now_ms: int) -> None:
        if now_ms < self._now:
            raise ValueError(f"simulated time cannot go back ({now_ms} < {self._now})")
        self._now = int(now_ms)

    def sleep(self, seconds: float) -> None:
        self._now += int(seconds * 1000)
