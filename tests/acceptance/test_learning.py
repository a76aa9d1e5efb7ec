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


def test_learning_finds_a_planted_interaction_and_ranks_it_first() -> None:
    # two of the full benchmark's folds on one draw (20,000 1h candles, 14,000+ training rows:
    # fewer rows leave the ranking to noise); 300 top-decile rows, so the shares carry the test
    inter = run(20_000, 2, 1500, 8000, only=("planted_interaction",),
                ablation=False)["planted_interaction"]
    model, rule = inter["model"], inter["rule_on_planted_bars"]
    # the model calls the planted bars about as well as the rule that planted them ...
    assert model["planted_bars"] >= rule - 0.03
    # ... and its confidence puts them first: measured 0.54 of the top decile (0.15 of all
    # bars), against 0.32 with one head on the 4h labels (the benchmark's ablation, which the
    # 0.45 floor excludes) and 0.30 for gradient boosting
    assert model["planted_share_of_top_decile"] >= 0.45
    assert model["planted_share_of_top_decile"] >= (
        inter["baseline_hgb"]["planted_share_of_top_decile"] + 0.1)
    assert model["top_decile"] >= rule - 0.06
