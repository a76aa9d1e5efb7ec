import math

import numpy as np
import pytest

from tradeloop.ml.calibration import (
    Calibration,
    crossfit_probabilities,
    evaluate,
    expected_calibration_error,
    fit_calibration,
    nll,
    softmax,
)


def test_fit_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 1.5, size=(20_000, 3))
    probs = softmax(true_logits)
    y = np.array([rng.choice(3, p=p) for p in probs])
    cal = fit_calibration(true_logits * 3.0, y)  # an overconfident model: logits x3
    assert cal.temperature == pytest.approx(3.0, rel=0.08)
    assert max(abs(b) for b in cal.bias) < 0.1


def test_no_signal_falls_back_to_the_flat_share_and_an_even_split() -> None:
    rng = np.random.default_rng(1)
    # a calibration window that drifted up: 50 % up, 40 % down, 10 % flat
    y = rng.choice([0, 1, 2], p=[0.40, 0.10, 0.50], size=5000)
    noise = rng.normal(0, 2, size=(5000, 3))
    cal = fit_calibration(noise, y)
    probs = cal.apply(noise)
    assert cal.bias[0] == cal.bias[2] == 0.0  # the window's drift does not set a direction
    assert probs[:, 1].mean() == pytest.approx(0.10, abs=0.02)
    assert probs[:, 2].mean() == pytest.approx(0.45, abs=0.02)
    assert probs.max(axis=1).std() < 0.02  # no spurious confidence left


def test_report_metrics_against_hand_computation() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    y = np.array([0, 2, 0, 2])
    fwd = np.array([-0.01, 0.02, 0.03, 0.01])
    r = evaluate(probs, y, fwd, train_majority=2)
    assert r.accuracy == 0.5
    assert r.mean_confidence == pytest.approx((0.7 + 0.6 + 0.5 + 0.6) / 4)
    assert r.majority_baseline == 0.5
    assert r.log_loss == pytest.approx(-np.mean(np.log([0.7, 0.6, 0.2, 0.3])))
    assert r.brier == pytest.approx(np.mean([0.09 + 0.04 + 0.01, 0.01 + 0.09 + 0.16,
                                             0.64 + 0.25 + 0.09, 0.36 + 0.01 + 0.49]))
    assert r.directional_decisions == 3 and r.directional_accuracy == pytest.approx(2 / 3)
    assert r.class_balance == (0.5, 0.0, 0.5)
    # ECE by hand with 15 bins: bins of 0.5, 0.6 (x2), 0.7
    ece = (1 / 4) * abs(0 - 0.5) + (2 / 4) * abs(0.5 - 0.6) + (1 / 4) * abs(1 - 0.7)
    assert expected_calibration_error(probs, y) == pytest.approx(ece)
    # directional ECE by hand (10 bins; P(up) judged on "up", P(down) on "down", pooled)
    assert r.directional_ece == pytest.approx((0.2 + 0.8 + 0.4 + 0.2 + 0.3) / 8)
    assert Calibration().apply(np.log(probs)).round(6).tolist() == probs.round(6).tolist()


def test_cross_fitted_figures_are_not_flattered_by_the_fit() -> None:
    """A calibration judged on its own rows looks better than it is; cross-fitted it does not."""
    rng = np.random.default_rng(8)
    logits = rng.normal(0, 1, (60, 3))
    y = rng.integers(0, 3, 60)  # no signal at all: any fitted structure is overfitting
    in_sample = nll(fit_calibration(logits, y).apply(logits), y)
    crossed = nll(crossfit_probabilities(logits, y), y)
    assert crossed > in_sample
    assert crossed >= math.log(3) - 0.02  # honest: no better than knowing nothing
