"""Challenger training and promotion: a new model replaces the champion only when a paired
test on the most recent candles that neither model was fitted on says it is better by a margin
(``ml/comparison.py``); both are scored on the same rows and the same labels (the challenger's,
i.e. the current configuration's)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.errors import ModelError, TradeloopError
from tradeloop.domain.horizon import LabelPlan, label_plan
from tradeloop.domain.retraining import RetrainResult
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ml.comparison import Comparison, PromotionRule, compare
from tradeloop.ml.dataset import LabelSource, Samples, build_samples, load_labelled, sequences
from tradeloop.ml.features import LOOKBACK
from tradeloop.ml.model_file import ModelArtifact
from tradeloop.ml.predictor import ServedModel, load_model
from tradeloop.ml.sentiment_features import mismatch
from tradeloop.ports import CandleReader, ModelRecorder, ModelRef, NewsFeatures
from tradeloop.settings import Settings

WARMUP_BARS = 200  # candles before the fresh window: feature lookback and sequences


def probabilities(model: ServedModel, samples: Samples, rows: np.ndarray) -> np.ndarray:
    """A model's calibrated probabilities on ``samples`` rows ``rows`` (earlier rows feed a
    sequence model's window)."""
    X = ((samples.X[:, :len(model.mean)] - model.mean) / model.std).astype(np.float32)
    if model.sequence_length > 1:
        logits = model.logits_batch(sequences(X, model.sequence_length)[
            rows - (model.sequence_length - 1)])
    else:
        logits = model.logits_batch(X[rows])
    return model.calibration.apply(logits)


def paired_score(champion: ModelRef, challenger: ModelRef, candles: CandleArrays,
                 labels: LabelSource | None, plan: LabelPlan, band: float, from_ms: int,
                 rule: PromotionRule, news: NewsFeatures | None = None) -> Comparison:
    """Both models on the same fresh rows (``open_time >= from_ms``) and the same labels
    (the sentiment features beside the candle features where either model reads them)."""
    old, new = load_model(champion), load_model(challenger)
    extra = None
    if old.sentiment[0] or new.sentiment[0]:
        why = next((w for m in (old, new) if m.sentiment[0]
                    and (w := mismatch(m.sentiment, news)) is not None), None)
        if why is not None or news is None:
            raise ModelError(f"{champion.symbol} {champion.timeframe}: a model reads news "
                             f"sentiment features that cannot be computed here: {why}")
        extra = news.features(champion.symbol, candles.open_time + plan.timeframe.ms)
    samples = build_samples(candles, plan.bars, band, step_ms=plan.timeframe.ms, labels=labels,
                            extra=extra)
    rows = np.flatnonzero(samples.open_time >= from_ms)
    rows = rows[rows >= max(old.sequence_length, new.sequence_length) - 1]
    return compare(probabilities(old, samples, rows), probabilities(new, samples, rows),
                   samples.y[rows], plan.bars, rule)


def retrain(settings: Settings, reader: CandleReader, registry: ModelRecorder, symbol: str,
            timeframe: str, until_ms: int, news: NewsFeatures | None = None,
            job_id: str | None = None) -> RetrainResult:
    """Train a challenger on data up to ``until_ms`` and promote it or not, with the reason."""
    from tradeloop.ml.training_job import train_series  # Lightning: only where training runs

    champion = registry.champion(symbol, timeframe)
    key = SeriesKey(settings.exchange.name, symbol, timeframe)
    if champion is not None:
        try:
            current: ModelArtifact | None = ModelArtifact.load(champion.path)
        except TradeloopError as exc:
            current, unusable = None, exc
        if current is not None and current.uses_sentiment and \
                (why := mismatch(current.sentiment_inputs, news)) is not None:
            current, unusable = None, ModelError(f"its sentiment features: {why}")
        if current is not None:
            # rows both models can be judged on: after every label the champion was fitted
            # on, with their own label known by now
            tf, span = Timeframe.parse(timeframe), current.horizon_span_ms
            fresh = len(reader.load(key, current.trained_to + tf.ms + span,
                                    tf.closed_by(until_ms - span)))
            if fresh < settings.continuous_learning.promotion.min_samples:
                return RetrainResult(symbol, timeframe, None, None, False,
                                     f"not trained: {fresh} new candles since champion "
                                     f"v{champion.version} was trained")
    try:
        summary = train_series(settings, reader, registry, symbol, timeframe, until_ms=until_ms,
                               news=news, job_id=job_id)
    except TradeloopError as exc:
        return RetrainResult(symbol, timeframe, None, None, False, "training failed",
                             error=str(exc))
    o = summary.outcome

    def result(promoted: bool, reason: str) -> RetrainResult:
        return RetrainResult(symbol, timeframe, summary.version, summary.run_id, promoted,
                             reason, o.val.mean_confidence, o.val.accuracy, o.seconds)

    if summary.became_champion or champion is None:
        return result(True, "first model of this series")
    if current is None:
        registry.set_champion(symbol, timeframe, summary.version, summary.model_path)
        return result(True, f"champion unusable ({unusable})")
    champ_art = current
    tf = Timeframe.parse(timeframe)
    # fresh: after the challenger's training and validation, and after every label the
    # champion was fitted on
    start = max(o.test_from_ms, champ_art.trained_to + tf.ms + champ_art.horizon_span_ms)
    challenger_ref = ModelRef(symbol, timeframe, summary.version, summary.model_path)
    new = ModelArtifact.load(summary.model_path)
    plan = label_plan(tf, settings.model.horizon, settings.timeframes.names)
    warmup = max(WARMUP_BARS, LOOKBACK + settings.model.sequence_length)
    candles, labels = load_labelled(reader, key, plan, until_ms, start_ms=start - warmup * tf.ms)
    p = settings.continuous_learning.promotion
    try:
        cmp = paired_score(champion, challenger_ref, candles, labels, plan, new.dead_band,
                           start, PromotionRule(p.min_samples, p.min_improvement, p.alpha),
                           news)
    except TradeloopError as exc:  # e.g. the champion reads scores no longer here
        return result(False, f"not compared: {exc}")
    registry.log_promotion(summary.run_id, cmp.metrics())
    ll = cmp.log_loss
    detail = (f"log loss {cmp.challenger_log_loss:.4f} vs champion v{champion.version} "
              f"{cmp.champion_log_loss:.4f} on {ll.n} fresh candles: improvement "
              f"{ll.effect:+.4f} [{ll.ci_low:+.4f}, {ll.ci_high:+.4f}], p = {ll.p_value:.3f}; "
              f"directional {cmp.challenger_directional:.1%} vs "
              f"{cmp.champion_directional:.1%} -> {cmp.verdict}")
    if cmp.promote:
        registry.set_champion(symbol, timeframe, summary.version, summary.model_path)
    return replace(result(cmp.promote, detail), effect=ll.effect, effect_low=ll.ci_low,
                   effect_high=ll.ci_high, p_value=ll.p_value, compared_samples=ll.n)
