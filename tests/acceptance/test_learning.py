"""The CI-sized run of benchmarks/bench_learning.py: what the model must (and must not) find."""

from __future__ import annotations

import pytest

from benchmarks.bench_learning import run
from tradeloop.settings.schema import ConfidenceSettings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_learning_finds_a_planted_signal_and_nothing_in_noise() -> None:
    result = run(6000, 1, 1500)
    rw, lag = result["random_walk"], result["planted_lag"]
    # noise: no direction beyond chance (1,500 overlapping 4h labels: +/- 4 points) and the
    # gate's threshold is never reached
    assert abs(rw["model"]["all"] - 0.5) <= 0.04
    assert rw["model"]["p_up_max"] < ConfidenceSettings().trading_threshold
    assert not rw["gate_would_trade"]
    # a planted lag: the model gets close to the rule that planted it and beats the baseline
    assert lag["model"]["all"] >= lag["rule_on_planted_bars"] - 0.03
    assert lag["model"]["top_decile"] >= lag["baseline_hgb"]["top_decile"]
    assert lag["model"]["top_decile"] > lag["model"]["all"]  # confidence ranks the calls
