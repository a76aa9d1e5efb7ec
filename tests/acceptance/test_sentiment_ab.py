"""The A/B of the sentiment features, smaller (``benchmarks/bench_sentiment.py``): on news
that leans toward the next 4 h the paired test finds the gain; on news independent of the
market it finds none."""

from __future__ import annotations

import pytest

from benchmarks.bench_sentiment import case

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_sentiment_helps_only_when_the_news_is_informative() -> None:
    planted = case(4000, 1, 1000, 1800, informative=True, seed=7)
    noise = case(4000, 1, 1000, 1800, informative=False, seed=7)
    assert planted["log_loss_improvement"]["p_value"] < 0.025
    assert planted["with_sentiment"]["directional_accuracy"] > \
        planted["without_sentiment"]["directional_accuracy"] + 0.05
    assert noise["log_loss_improvement"]["p_value"] >= 0.025
    assert abs(noise["with_sentiment"]["directional_accuracy"]
               - noise["without_sentiment"]["directional_accuracy"]) < 0.05
