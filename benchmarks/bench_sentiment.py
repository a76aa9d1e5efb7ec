"""Honest A/B of the news sentiment features: the same model, the same walk-forward splits,
with and without them.

On a synthetic market (a driftless random walk of 1h candles) two kinds of synthetic news
(``adapters/news/synthetic.planted_news``, about one item every two candles, each published
inside its candle): *informative*, each score leaning toward the direction of the next 4 h
(a planted edge, as news that moves prices), and *uninformative*, scores independent of the
market. Per case: the out-of-sample directional accuracy, log loss and directional ECE of
both models, and a paired test (Diebold-Mariano with a Newey-West variance over the 4-bar
label overlap, ``ml/comparison.hac_mean_test``) of the per-row log-loss improvement and of
the hit-rate difference. Goals: on informative news the gain is significant (p < 0.025); on
uninformative news it is not.

Real-data figures need real headlines (``tradeloop news import``); none are stored here, so
nothing is claimed about real news. ``python benchmarks/bench_sentiment.py [--quick]`` ->
``results/bench_sentiment.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import report
from tradeloop.adapters.market_data.synthetic import random_walk
from tradeloop.adapters.news.synthetic import planted_news
from tradeloop.domain.reliability import reliability
from tradeloop.ml.comparison import directional_hits, hac_mean_test, log_losses
from tradeloop.ml.dataset import build_samples, walk_forward
from tradeloop.ml.labels import dead_band
from tradeloop.ml.sentiment_features import sentiment_features
from tradeloop.ml.training import TrainingLimits, train_classifier
from tradeloop.settings import ModelSettings
from tradeloop.settings.news import SentimentFeatureSettings
from tradeloop.settings.schema import RetrainingSettings

HORIZON, STEP = 4, 3_600_000


def _figures(probs: np.ndarray, y: np.ndarray, fwd: np.ndarray, band: float) -> dict[str, Any]:
    rel = reliability(probs[:, 2], probs[:, 0], fwd, band)
    return {"directional_accuracy": float(directional_hits(probs, y).mean()),
            "log_loss": float(log_losses(probs, y).mean()),
            "directional_ece": rel.ece if rel is not None else None}


def case(n: int, folds: int, test_size: int, min_train: int, *, informative: bool,
         seed: int) -> dict[str, Any]:
    candles = random_walk(n, seed=seed)
    cfg = ModelSettings()
    rt = RetrainingSettings()
    limits = TrainingLimits(rt.max_epochs, rt.patience, rt.target_confidence)
    band = dead_band(cfg.fee_bps, cfg.slippage_bps)
    feats = SentimentFeatureSettings()
    pub, scores = planted_news(candles, STEP, HORIZON, informative=informative, seed=seed + 1)
    extra = sentiment_features(candles.open_time + STEP, pub, scores,
                               window_ms=int(feats.window_hours * STEP),
                               half_life_ms=int(feats.half_life_hours * STEP))
    with_news = build_samples(candles, HORIZON, band, step_ms=STEP, extra=extra)
    without = build_samples(candles, HORIZON, band, step_ms=STEP)
    assert np.array_equal(with_news.open_time, without.open_time)  # the same rows
    splits = walk_forward(len(without), folds=folds, test_size=test_size, val_size=test_size,
                          gap=HORIZON, min_train=min_train)
    parts: dict[str, list[np.ndarray]] = {"without": [], "with": [], "y": [], "fwd": []}
    for k, split in enumerate(splits):
        for name, samples in (("without", without), ("with", with_news)):
            out = train_classifier(samples, cfg, limits, purge_bars=HORIZON, split=split)
            parts[name].append(out.test_probabilities)
            print(f"{'informative' if informative else 'uninformative'} fold {k} {name}: "
                  f"stopped {out.stop_reason} at epoch {out.best_epoch}", flush=True)
        rows = np.arange(len(without))[split.test]
        parts["y"].append(without.y[rows])
        parts["fwd"].append(without.fwd_return[rows])
    y, fwd = np.concatenate(parts["y"]), np.concatenate(parts["fwd"])
    a, b = np.concatenate(parts["without"]), np.concatenate(parts["with"])
    ll = hac_mean_test(log_losses(a, y) - log_losses(b, y), min_lags=HORIZON)
    hits = hac_mean_test(directional_hits(b, y) - directional_hits(a, y), min_lags=HORIZON)
    return {"without_sentiment": _figures(a, y, fwd, band),
            "with_sentiment": _figures(b, y, fwd, band),
            "log_loss_improvement": {"effect": ll.effect, "ci_low": ll.ci_low,
                                     "ci_high": ll.ci_high, "p_value": ll.p_value,
                                     "n": ll.n},
            "hit_rate_difference": {"effect": hits.effect, "ci_low": hits.ci_low,
                                    "ci_high": hits.ci_high, "p_value": hits.p_value,
                                    "n": hits.n},
            "news_items": len(pub), "candles": n}


def run(n: int, folds: int, test_size: int, min_train: int) -> dict[str, Any]:
    out = {"informative_news": case(n, folds, test_size, min_train, informative=True,
                                    seed=61),
           "uninformative_news": case(n, folds, test_size, min_train, informative=False,
                                      seed=61)}
    out["goals"] = {
        "informative_gain_significant":
            out["informative_news"]["log_loss_improvement"]["p_value"] < 0.025,
        "uninformative_gain_not_significant":
            out["uninformative_news"]["log_loss_improvement"]["p_value"] >= 0.025}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small fold per case")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    result = run(5000, 1, 1200, 2000) if args.quick else run(16_000, 3, 2000, 6000)
    report("bench_sentiment", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
