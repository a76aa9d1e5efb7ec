"""Directional calibration of probability forecasts: does "P(up) = 0.6" come true 60 % of the
time? Pure numpy; used offline (benchmarks) and live (recorded predictions whose outcome is
known: the monitor, the report, the dashboard and a health check)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 10


@dataclass(frozen=True)
class Reliability:
    """Directional ECE and hit rate of forecasts of up and down moves.

    ``ece`` pools the binary forecasts ``P(up)`` of "up" and ``P(down)`` of "down" (each row
    counts twice) into equal-width bins and weighs |mean forecast - observed frequency| by the
    bins' shares; ``curve`` lists (mean forecast, observed frequency, count) per non-empty bin;
    ``hit_rate`` is the share of rows whose more likely direction was the sign of the move."""

    samples: int
    ece: float
    hit_rate: float
    mean_up: float
    observed_up: float
    curve: tuple[tuple[float, float, int], ...]

    def as_dict(self) -> dict[str, object]:
        return {"samples": self.samples, "directional_ece": self.ece, "hit_rate": self.hit_rate,
                "mean_p_up": self.mean_up, "observed_up": self.observed_up,
                "reliability_curve": [list(b) for b in self.curve]}


def reliability(p_up: np.ndarray, p_down: np.ndarray, fwd_return: np.ndarray, band: float,
                bins: int = BINS) -> Reliability | None:
    """Reliability of forecasts whose outcome (log return over the horizon) is known; None
    without any."""
    ok = np.isfinite(fwd_return)
    p_up, p_down, fwd = p_up[ok], p_down[ok], fwd_return[ok]
    n = len(fwd)
    if n == 0:
        return None
    up, down = fwd > band, fwd < -band
    forecast = np.concatenate([p_up, p_down])
    happened = np.concatenate([up, down]).astype(np.float64)
    idx = np.clip((forecast * bins).astype(np.int64), 0, bins - 1)
    ece, curve = 0.0, []
    for b in range(bins):
        m = idx == b
        if m.any():
            f, o = float(forecast[m].mean()), float(happened[m].mean())
            ece += m.mean() * abs(f - o)
            curve.append((f, o, int(m.sum())))
    says_up = p_up > p_down
    moved = fwd != 0
    hits = np.where(says_up, fwd > 0, fwd < 0)[moved]
    return Reliability(n, float(ece), float(hits.mean()) if hits.size else float("nan"),
                       float(p_up.mean()), float(up.mean()), tuple(curve))
