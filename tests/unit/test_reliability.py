"""Directional reliability: calibrated forecasts score near zero, overconfident ones do not."""

from __future__ import annotations

import numpy as np

from tradeloop.domain.reliability import reliability


def _market(rng: np.random.Generator, p_up: np.ndarray, p_down: np.ndarray) -> np.ndarray:
    """Outcomes drawn from the true probabilities: up, down or inside the band."""
    u = rng.random(len(p_up))
    return np.where(u < p_up, 0.01, np.where(u < p_up + p_down, -0.01, 0.0))


def test_calibrated_forecasts_have_a_small_directional_ece() -> None:
    rng = np.random.default_rng(1)
    p_up = rng.uniform(0.2, 0.6, 20_000)
    p_down = (1 - p_up) * 0.8
    r = reliability(p_up, p_down, _market(rng, p_up, p_down), band=0.001)
    assert r is not None and r.samples == 20_000 and r.ece < 0.015
    assert all(abs(f - o) < 0.03 for f, o, n in r.curve if n > 500)
    assert abs(r.mean_up - r.observed_up) < 0.01


def test_overconfidence_shows_and_unknown_outcomes_are_left_out() -> None:
    rng = np.random.default_rng(2)
    truth = np.full(10_000, 0.4)
    said = np.full(10_000, 0.7)  # claims 70 % for a 40 % event
    fwd = _market(rng, truth, truth)
    fwd[:100] = np.nan  # not known yet
    r = reliability(said, 1 - said - 0.05, fwd, band=0.001)
    assert r is not None and r.samples == 9_900 and r.ece > 0.2
    assert reliability(said[:3], said[:3], np.full(3, np.nan), 0.001) is None
