"""Challenger training and promotion: a new model replaces the champion only if it is at least
as good on the most recent candles that neither model was fitted on."""

from __future__ import annotations

import numpy as np

from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.retraining import RetrainResult
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ml.calibration import nll
from tradeloop.ml.dataset import build_samples, sequences
from tradeloop.ml.model_file import ModelArtifact
from tradeloop.ml.predictor import load_model
from tradeloop.ports import CandleReader, ModelRecorder, ModelRef
from tradeloop.settings import Settings

MIN_COMPARISON_SAMPLES = 50



def score(ref: ModelRef, settings: Settings, candles_reader: CandleReader, key: SeriesKey,
          until_ms: int, from_ms: int) -> tuple[float, float, int]:
    """(log loss, accuracy, n) of a model on the samples with from_ms <= time < until."""
    tf = Timeframe.parse(key.timeframe)
    model = load_model(ref)
    art = ModelArtifact.load(ref.path)
    candles = candles_reader.load(key, from_ms - 200 * tf.ms, until_ms)
    samples = build_samples(candles, art.horizon_bars, art.dead_band, step_ms=tf.ms)
    keep = samples.open_time >= from_ms
    X = ((samples.X[keep] - model.mean) / model.std).astype(np.float32)
    y = samples.y[keep]
    if len(y) == 0 or (model.sequence_length > 1 and len(y) < model.sequence_length):
        return float("nan"), float("nan"), 0
    if model.sequence_length > 1:
        allx = ((samples.X - model.mean) / model.std).astype(np.float32)
        seq = sequences(allx, model.sequence_length)
        idx = np.flatnonzero(keep) - (model.sequence_length - 1)
        idx = idx[idx >= 0]
        logits = model.logits_batch(seq[idx])
        y = samples.y[idx + model.sequence_length - 1]
    else:
        logits = model.logits_batch(X)
    probs = model.calibration.apply(logits)
    return nll(probs, y), float((probs.argmax(1) == y).mean()), len(y)


def retrain(settings: Settings, reader: CandleReader, registry: ModelRecorder, symbol: str,
            timeframe: str, until_ms: int) -> RetrainResult:
    """Train a challenger on data up to ``until_ms`` and promote it or not, with the reason."""
    from tradeloop.ml.training_job import train_series  # Lightning: only where training runs

    champion = registry.champion(symbol, timeframe)
    key = SeriesKey(settings.exchange.name, symbol, timeframe)
    if champion is not None:
        try:
            trained_to = ModelArtifact.load(champion.path).trained_to
        except TradeloopError:
            trained_to = None
        if trained_to is not None:
            fresh = len(reader.load(key, trained_to + 1, until_ms))
            if fresh < MIN_COMPARISON_SAMPLES:
                return RetrainResult(symbol, timeframe, None, None, False,
                                     f"not trained: {fresh} new candles since champion "
                                     f"v{champion.version} was trained")
    try:
        summary = train_series(settings, reader, registry, symbol, timeframe, until_ms=until_ms)
    except TradeloopError as exc:
        return RetrainResult(symbol, timeframe, None, None, False, "training failed",
                             error=str(exc))
    o = summary.outcome

    def result(promoted: bool, reason: str) -> RetrainResult:
        return RetrainResult(symbol, timeframe, summary.version, summary.run_id, promoted,
                             reason, o.val.mean_confidence, o.val.accuracy, o.seconds)

    if summary.became_champion or champion is None:
        return result(True, "first model of this series")
    try:
        champ_art = ModelArtifact.load(champion.path)
    except TradeloopError as exc:
        registry.set_champion(symbol, timeframe, summary.version, summary.model_path)
        return result(True, f"champion unusable ({exc})")
    horizon_ms = champ_art.horizon_bars * Timeframe.parse(timeframe).ms
    start = max(o.test_from_ms, champ_art.trained_to + horizon_ms + 1)
    challenger_ref = ModelRef(symbol, timeframe, summary.version, summary.model_path)
    c_ll, c_acc, n = score(challenger_ref, settings, reader, key, until_ms, start)
    k_ll, k_acc, _ = score(champion, settings, reader, key, until_ms, start)
    if n < MIN_COMPARISON_SAMPLES:
        return result(False, f"only {n} candles unseen by both models; champion "
                             f"v{champion.version} kept")
    if c_ll <= k_ll:
        registry.set_champion(symbol, timeframe, summary.version, summary.model_path)
        return result(True, f"log loss {c_ll:.4f} <= champion v{champion.version} {k_ll:.4f} "
                             f"on {n} fresh candles (accuracy {c_acc:.1%} vs {k_acc:.1%})")
    return result(False, f"log loss {c_ll:.4f} > champion v{champion.version} {k_ll:.4f} "
                         f"on {n} fresh candles (accuracy {c_acc:.1%} vs {k_acc:.1%})")

