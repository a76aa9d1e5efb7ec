"""Train the model of one (symbol, timeframe) from stored candles and record it.

Loads the most recent candles closed by ``until_ms`` (never one still open at that time),
builds gap-aware samples, trains and calibrates, fits the feature-drift reference on the
training rows, writes the model file, logs the run to the registry (MLflow) and makes the first
model of a series its champion. Later promotions are the engine's job.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import tradeloop
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import InsufficientDataError, ModelError
from tradeloop.domain.horizon import label_plan
from tradeloop.domain.signals import CLASS_NAMES
from tradeloop.domain.symbols import symbol_slug
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ml.dataset import build_samples, candles_needed, load_labelled
from tradeloop.ml.drift import FeatureDrift
from tradeloop.ml.features import FEATURE_NAMES, LOOKBACK
from tradeloop.ml.labels import dead_band
from tradeloop.ml.model_file import MODEL_SUFFIX, ModelArtifact
from tradeloop.ml.sentiment_features import MIN_COVERAGE, SENTIMENT_FEATURES
from tradeloop.ml.training import TrainingLimits, TrainOutcome, train_classifier
from tradeloop.ports import CandleReader, ModelRecorder, NewsFeatures
from tradeloop.settings import Settings


@dataclass
class TrainingSummary:
    """What one training produced."""

    symbol: str
    timeframe: str
    version: str
    run_id: str
    became_champion: bool
    model_path: Path
    outcome: TrainOutcome
    data_from: int
    data_to: int


def code_version() -> str:
    """Package version and git commit of the running code (``+dirty`` when modified)."""
    here = Path(__file__).resolve().parent
    try:
        # the code version of a training run; git from PATH, fixed arguments, no shell
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,  # noqa: S607
                             capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain",  # noqa: S607
                                "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5).stdout.strip()
        return f"{tradeloop.__version__}+{sha}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return tradeloop.__version__


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def inputs(settings: Settings, news: NewsFeatures | None, symbol: str, close_ms: np.ndarray
           ) -> tuple[list[str], np.ndarray | None]:
    """The model's input names and the columns beyond the candle features (None: none)."""
    if not settings.model.features.sentiment:
        return list(FEATURE_NAMES), None
    if news is None:
        raise ModelError("model.features.sentiment is on but no news sentiment is available "
                         "(configure news sources and a sentiment model, or turn it off)")
    extra = news.features(symbol, close_ms)
    covered = float((extra[:, 0] > 0).mean()) if len(extra) else 0.0
    if covered < MIN_COVERAGE:
        raise ModelError(f"{symbol}: only {covered:.0%} of the training candles have news "
                         f"scored by {news.model} before them ({MIN_COVERAGE:.0%} needed): "
                         f"import or fetch headlines of that period, or turn "
                         f"model.features.sentiment off")
    return [*FEATURE_NAMES, *SENTIMENT_FEATURES], extra


def train_series(
    settings: Settings,
    candles: CandleReader,
    registry: ModelRecorder,
    symbol: str,
    timeframe: str,
    *,
    until_ms: int | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    news: NewsFeatures | None = None,
    job_id: str | None = None,
) -> TrainingSummary:
    """Train, record and (for a series' first model) promote one classifier; with
    ``model.features.sentiment`` its inputs include ``news``' sentiment features."""
    cfg = settings.model
    tf = Timeframe.parse(timeframe)
    key = SeriesKey(settings.exchange.name, symbol, tf.name)
    plan = label_plan(tf, cfg.horizon, settings.timeframes.names)
    data, labels = load_labelled(candles, key, plan, until_ms, max_candles=cfg.max_train_candles)
    need = candles_needed(settings, tf.name)
    if len(data) < need:
        raise InsufficientDataError(
            f"{symbol} {tf}: {len(data):,} candles found on {key.exchange}, {need:,} needed "
            f"({LOOKBACK} lookback + {plan.bars} horizon + {cfg.min_samples:,} samples); "
            f"import or download more")
    band = dead_band(cfg.fee_bps, cfg.slippage_bps)
    features, extra = inputs(settings, news, symbol, data.open_time + tf.ms)
    samples = build_samples(data, plan.bars, band, step_ms=tf.ms, labels=labels, extra=extra)
    sentiment = (news.model, news.window_ms, news.half_life_ms) \
        if extra is not None and news is not None else ("", 0, 0)
    if len(samples) < cfg.min_samples:
        where = "" if plan.own else f" with a {plan.label_timeframe} candle {plan.horizon} later"
        raise InsufficientDataError(
            f"{symbol} {tf}: only {len(samples):,} usable samples{where} in the last "
            f"{len(data):,} candles (gaps cut the rest), {cfg.min_samples:,} needed")
    retrain = settings.continuous_learning.retraining
    limits = TrainingLimits(retrain.max_epochs, retrain.patience, retrain.target_confidence)
    outcome = train_classifier(samples, cfg, limits, purge_bars=plan.bars, on_epoch=on_epoch)

    try:
        drift: dict[str, Any] | None = FeatureDrift.fit(samples.X[:outcome.train_end]).to_dict()
    except ValueError:  # too few training rows for a null distribution: no feature drift
        drift = None
    folder = settings.path(settings.paths.models_dir) / symbol_slug(symbol) / tf.name
    metrics = {**outcome.val.as_metrics("val_"), **outcome.test.as_metrics("test_"),
               "temperature": outcome.calibration.temperature,
               "training_seconds": outcome.seconds, "best_epoch": float(outcome.best_epoch)}
    artifact = ModelArtifact(
        symbol=symbol, timeframe=tf.name, architecture=outcome.architecture,
        arch_params=outcome.arch_params,
        state_dict={k: v.detach().cpu().numpy().copy()
                    for k, v in outcome.net.state_dict().items()},
        feature_names=features, scaler_mean=outcome.scaler.mean.tolist(),
        scaler_std=outcome.scaler.std.tolist(), temperature=outcome.calibration.temperature,
        class_bias=list(outcome.calibration.bias), sequence_length=outcome.sequence_length,
        horizon_bars=plan.bars, dead_band=band, horizon_ms=plan.horizon.ms,
        label_timeframe=plan.label_timeframe.name,
        trained_from=int(samples.open_time[0]), trained_to=int(samples.open_time[-1]),
        metrics=metrics, drift_reference=drift,
        sentiment_model=sentiment[0], sentiment_window_ms=sentiment[1],
        sentiment_half_life_ms=sentiment[2])
    staging = artifact.save(folder / ".staging" / f"model{MODEL_SUFFIX}")
    params = {
        "symbol": symbol, "timeframe": tf.name, "exchange": key.exchange,
        **{f"model.{k}": v for k, v in cfg.model_dump().items()},
        "max_epochs": retrain.max_epochs, "patience": retrain.patience,
        "target_confidence": retrain.target_confidence, "dead_band": round(band, 6),
        "horizon_bars": plan.bars, "label_timeframe": plan.label_timeframe.name,
        "n_train": outcome.n_train, "n_val": outcome.n_val, "n_test": outcome.n_test,
        "data_first_candle": _iso(int(data.open_time[0])),
        "data_last_candle": _iso(int(data.open_time[-1])),
        "features": ",".join(features), "classes": ",".join(CLASS_NAMES),
    }
    if extra is not None and news is not None:
        params.update(sentiment_model=news.model,
                      sentiment_window_hours=news.window_ms / 3_600_000,
                      sentiment_half_life_hours=news.half_life_ms / 3_600_000)
    report = {"validation": outcome.val.__dict__, "test": outcome.test.__dict__,
              "calibration": outcome.calibration.__dict__, "stop_reason": outcome.stop_reason,
              "history": outcome.history}
    run_id, version = registry.log_training(
        symbol, tf.name, model_path=staging, params=params, history=outcome.history,
        metrics=metrics,
        tags={"code_version": code_version(), "stop_reason": outcome.stop_reason,
              **({"job_id": job_id} if job_id else {})},
        artifacts={"features.json": json.dumps(features),
                   "report.json": json.dumps(report, indent=2, default=str)})
    final = folder / f"v{version}{MODEL_SUFFIX}"
    staging.replace(final)
    staging.parent.rmdir()
    first = registry.champion_version(symbol, tf.name) is None
    if first:
        registry.set_champion(symbol, tf.name, version, final)
    return TrainingSummary(symbol, tf.name, version, run_id, first, final, outcome,
                           int(data.open_time[0]), int(data.open_time[-1]))
