"""Calibration (temperature + a flat-class bias) and the report (accuracy, log loss, Brier,
ECE, ...).

The bias moves "flat" against the two directions, never "up" against "down": the calibration
rows are a short window (a few hundred independent 4h moves), and a per-direction bias fitted
there learns that window's drift, which on a random walk lifted P(up) past the trading
threshold for a whole test window. The up/down balance comes from the net, fitted on the much
longer training window. With no real signal the fit falls back to the flat share and an even
split of the rest, which is the honest answer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize

from tradeloop.domain.reliability import reliability
from tradeloop.ml.labels import DOWN, UP


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))))


@dataclass(frozen=True)
class Calibration:
    """probabilities = softmax(logits / temperature + bias)."""

    temperature: float = 1.0
    bias: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def apply(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits / self.temperature + np.asarray(self.bias))

    def apply_row(self, logits: np.ndarray) -> tuple[float, float, float]:
        """:meth:`apply` for one row of three logits, without numpy's per-call overhead."""
        z = [float(logits[k]) / self.temperature + self.bias[k] for k in range(3)]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        total = e[0] + e[1] + e[2]
        return (e[0] / total, e[1] / total, e[2] / total)


def fit_calibration(logits: np.ndarray, y: np.ndarray) -> Calibration:
    """Temperature and flat-class bias minimising the log loss of these rows (deterministic
    L-BFGS)."""

    def loss(p: np.ndarray) -> float:
        return nll(softmax(logits / np.exp(p[0]) + np.array([0.0, p[1], 0.0])), y)

    res = minimize(loss, np.zeros(2), method="L-BFGS-B", bounds=[(-4.0, 6.0), (-20.0, 20.0)])
    return Calibration(float(np.exp(res.x[0])), (0.0, float(res.x[1]), 0.0))


def crossfit_probabilities(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Calibrated probabilities of every row from a calibration fitted on the *other*
    chronological half: figures measured on the rows a calibration was fitted on would be
    flattering by construction."""
    half = len(y) // 2
    if half < 2:
        raise ValueError(f"{len(y)} rows are too few to cross-fit a calibration")
    first, second = slice(0, half), slice(half, None)
    out = np.empty((len(y), 3))
    out[second] = fit_calibration(logits[first], y[first]).apply(logits[second])
    out[first] = fit_calibration(logits[second], y[second]).apply(logits[first])
    return out


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    conf = probs.max(axis=1)
    hit = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(hit[m].mean() - conf[m].mean())
    return float(ece)


@dataclass(frozen=True)
class CalibrationReport:
    """Held-out quality of a classifier's calibrated probabilities."""

    samples: int
    accuracy: float
    log_loss: float
    brier: float
    ece: float
    mean_confidence: float
    majority_baseline: float
    class_balance: tuple[float, float, float]
    directional_accuracy: float | None
    directional_decisions: int
    # calibration of P(up) for "up" and P(down) for "down" (domain/reliability.py): the
    # top-label ``ece`` is dominated by "flat" where flat is the majority
    directional_ece: float | None = None

    @property
    def miscalibration(self) -> float:
        """|mean confidence - accuracy|."""
        return abs(self.mean_confidence - self.accuracy)

    def as_metrics(self, prefix: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for k, v in asdict(self).items():
            if k == "class_balance":
                for name, share in zip(("down", "flat", "up"), v, strict=True):
                    out[f"{prefix}class_share_{name}"] = float(share)
            elif v is not None:
                out[f"{prefix}{k}"] = float(v)
        out[f"{prefix}miscalibration"] = self.miscalibration
        return out


def evaluate(probs: np.ndarray, y: np.ndarray, fwd_return: np.ndarray, train_majority: int
             ) -> CalibrationReport:
    """Report on held-out rows. ``directional_accuracy``: of the up/down predictions, the share
    whose forward return had the predicted sign."""
    pred = probs.argmax(axis=1)
    onehot = np.eye(3)[y]
    balance = np.bincount(y, minlength=3) / max(len(y), 1)
    directional = pred != 1
    hits = np.where(pred == 2, fwd_return > 0, fwd_return < 0)[directional]
    # outcome per row as a pseudo-return against a band of 0.5: +1 up, -1 down, 0 flat
    outcome = np.where(y == UP, 1.0, np.where(y == DOWN, -1.0, 0.0))
    rel = reliability(probs[:, 2], probs[:, 0], outcome, 0.5) if len(y) else None
    return CalibrationReport(
        samples=len(y),
        accuracy=float((pred == y).mean()),
        log_loss=nll(probs, y),
        brier=float(np.mean(np.sum((probs - onehot) ** 2, axis=1))),
        ece=expected_calibration_error(probs, y),
        mean_confidence=float(probs.max(axis=1).mean()),
        majority_baseline=float((y == train_majority).mean()),
        class_balance=(float(balance[0]), float(balance[1]), float(balance[2])),
        directional_accuracy=float(hits.mean()) if hits.size else None,
        directional_decisions=int(directional.sum()),
        directional_ece=rel.ece if rel is not None else None,
    )
