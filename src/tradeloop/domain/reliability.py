"""Directional calibration of probability forecasts: does "P(up) = 0.6" come true 60 % of the
time? Pure numpy; used offline (benchmarks) and live (recorded predictions whose outcome is
known: the monitor, the report, the dashboard and a health check)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BINS = 10


@dataclass(frozen=True)
class Reliability:
    """Directional ECE and hit rate of forecasts of up (and down) moves.

    ``ece`` pools the binary forecasts ``P(up)`` of "up" and, when given, ``P(down)`` of
    "down" (each row then counts twice) into equal-width bins and weighs |mean forecast -
    observed frequency| by the bins' shares; ``curve`` lists (mean forecast, observed
    frequency, count) per non-empty bin; ``hit_rate`` is the share of directional calls
    (up or down) that had the move's sign."""

    samples: int
    ece: float
    hit_rate: float
    mean_up: float
    observed_up: float
    curve: tuple[tuple[float, float, int], ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-safe (an undefined hit rate is None)."""
        hit = self.hit_rate if math.isfinite(self.hit_rate) else None
        return {"samples": self.samples, "directional_ece": self.ece, "hit_rate": hit,
                "mean_p_up": self.mean_up, "observed_up": self.observed_up,
                "reliability_curve": [list(b) for b in self.curve]}


def reliability(p_up: np.ndarray, p_down: np.ndarray | None, fwd_return: np.ndarray,
                band: float, bins: int = BINS, calls: np.ndarray | None = None
                ) -> Reliability | None:
    """Reliability of forecasts whose outcome (log return over the horizon) is known; None
    without any. ``calls`` (+1 up, -1 down, 0 none) default to the larger of P(up), P(down)."""
    ok = np.isfinite(fwd_return)
    if not ok.any():
        return None
    fwd, up_p = fwd_return[ok], p_up[ok]
    down_p = None if p_down is None else p_down[ok]
    if calls is None:
        if down_p is None:
            raise ValueError("directional calls need P(down) or explicit calls")
        calls = np.sign(up_p - down_p)
    else:
        calls = calls[ok]
    up, down = fwd > band, fwd < -band
    forecast = up_p if down_p is None else np.concatenate([up_p, down_p])
    happened = (up if down_p is None else np.concatenate([up, down])).astype(np.float64)
    idx = np.clip((forecast * bins).astype(np.int64), 0, bins - 1)
    ece, curve = 0.0, []
    for b in range(bins):
        m = idx == b
        if m.any():
            f, o = float(forecast[m].mean()), float(happened[m].mean())
            ece += m.mean() * abs(f - o)
            curve.append((f, o, int(m.sum())))
    called = (calls != 0) & (fwd != 0)
    hits = np.where(calls > 0, fwd > 0, fwd < 0)[called]
    return Reliability(len(fwd), float(ece), float(hits.mean()) if hits.size else float("nan"),
                       float(up_p.mean()), float(up.mean()), tuple(curve))
