"""Samples, chronological splits with purge and embargo, and the train-only scaler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.horizon import LabelPlan, label_plan
from tradeloop.ml.features import LOOKBACK, compute_features
from tradeloop.ml.labels import UNKNOWN, aux_horizons, labels_of, make_labels, returns_from

if TYPE_CHECKING:
    from tradeloop.ports import CandleReader
    from tradeloop.settings import Settings


def candles_needed(settings: Settings, timeframe: str) -> int:
    """Candles one training run needs: lookback, sequence, horizon and the minimum samples."""
    cfg = settings.model
    seq = cfg.sequence_length if cfg.architecture == "gru" else 1
    bars = label_plan(timeframe, cfg.horizon, settings.timeframes.names).bars
    return LOOKBACK + seq - 1 + bars + cfg.min_samples


@dataclass(frozen=True)
class LabelSource:
    """Where labels come from when not from the series' own closes: another series'
    candles, its candle length and the horizon (``domain/horizon.py``)."""

    candles: CandleArrays
    step_ms: int
    horizon_ms: int


@dataclass(frozen=True)
class Samples:
    """Aligned rows: features ``X`` of closed candle ``open_time``, its label ``y`` and the
    labels of the shorter auxiliary horizons ``y_aux`` (one column each; training targets
    only, never traded or reported)."""

    X: np.ndarray
    y: np.ndarray
    fwd_return: np.ndarray
    open_time: np.ndarray
    y_aux: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def take(self, index: slice | np.ndarray) -> Samples:
        return Samples(self.X[index], self.y[index], self.fwd_return[index],
                       self.open_time[index], self.y_aux[index])


def build_samples(candles: CandleArrays, horizon: int, band: float,
                  step_ms: int | None = None, labels: LabelSource | None = None,
                  extra: np.ndarray | None = None) -> Samples:
    """Rows with a full feature lookback and a known label, in time order.

    Labels: the move ``horizon`` bars later on the series' own closes, or, with ``labels``,
    the close of another series ``labels.horizon_ms`` after each candle's close. With
    ``step_ms`` (the timeframe) a row is kept only when its whole lookback window (and its own
    label horizon) are contiguous candles: a gap in the data never passes for adjacent bars.
    Auxiliary labels (:func:`aux_horizons`, band scaled by the square root of the horizon
    share) come from the series' own closes; labels from another series have none.
    ``extra``: more input columns per candle (the news sentiment features), after the
    candle features.
    """
    X = compute_features(candles)
    if extra is not None:
        X = np.concatenate([X, extra], axis=1)
    aux: list[np.ndarray] = []
    if labels is None:
        y, fwd = make_labels(candles.close, horizon, band)
        aux = [make_labels(candles.close, k, band * np.sqrt(k / horizon))[0]
               for k in aux_horizons(horizon)]
    else:
        if step_ms is None:
            raise ValueError("labels from another series need the candles' step_ms")
        y, fwd = labels_of(returns_from(candles.open_time, candles.close, step_ms,
                                        labels.candles.open_time, labels.candles.close,
                                        labels.step_ms, labels.horizon_ms), band)
    ok = ~np.isnan(X).any(axis=1) & (y != UNKNOWN)
    if step_ms is not None and len(candles) > 1:
        breaks = np.concatenate(([0], np.cumsum(np.diff(candles.open_time) != step_ms)))
        n = len(candles)
        t = np.arange(n)
        lo = np.clip(t - LOOKBACK + 1, 0, n - 1)
        hi = np.clip(t + (horizon if labels is None else 0), 0, n - 1)
        ok &= breaks[hi] == breaks[lo]
    y_aux = np.column_stack(aux) if aux else np.empty((len(candles), 0), dtype=np.int64)
    return Samples(X[ok], y[ok], fwd[ok], candles.open_time[ok], y_aux[ok].astype(np.int64))


def load_labelled(reader: CandleReader, key: SeriesKey, plan: LabelPlan, until_ms: int | None,
                  *, start_ms: int | None = None, max_candles: int | None = None
                  ) -> tuple[CandleArrays, LabelSource | None]:
    """A series' candles closed by ``until_ms`` (the most recent ``max_candles``) and, when
    its labels come from another series, that series' candles over the same span."""
    end = None if until_ms is None else plan.timeframe.closed_by(until_ms)
    data = reader.load(key, start_ms, end)
    if max_candles is not None:
        data = data.take(slice(max(0, len(data) - max_candles), None))
    if plan.own or not len(data):
        return data, None
    label_key = SeriesKey(key.exchange, key.symbol, plan.label_timeframe.name)
    label_end = None if until_ms is None else plan.label_timeframe.closed_by(until_ms)
    labels = reader.load(label_key, int(data.open_time[0]), label_end)
    return data, LabelSource(labels, plan.label_timeframe.ms, plan.horizon.ms)


@dataclass(frozen=True)
class Split:
    """Index ranges of one chronological split: train < val < test, with gaps between."""

    train: slice
    val: slice
    test: slice


def chronological_split(n: int, val_fraction: float, test_fraction: float, gap: int) -> Split:
    """train | gap | val | gap | test. ``gap`` = label horizon (purge) + embargo, so no label
    of an earlier part looks into a later part."""
    n_test = int(n * test_fraction)
    n_val = int(n * val_fraction)
    test_start = n - n_test
    val_start = test_start - gap - n_val
    train_end = val_start - gap
    if train_end <= 0 or n_val <= 0 or n_test <= 0:
        raise ValueError(f"{n} samples are too few for this split")
    return Split(slice(0, train_end), slice(val_start, val_start + n_val), slice(test_start, n))


def walk_forward(n: int, *, folds: int, test_size: int, val_size: int, gap: int,
                 min_train: int) -> list[Split]:
    """Expanding-window folds: each fold trains on everything before its validation part and
    is tested on the next ``test_size`` samples; the test windows tile the end of the data."""
    splits = []
    for k in range(folds):
        test_start = n - (folds - k) * test_size
        val_start = test_start - gap - val_size
        train_end = val_start - gap
        if train_end < min_train:
            raise ValueError(f"fold {k}: {train_end} training samples < {min_train}")
        splits.append(Split(slice(0, train_end), slice(val_start, val_start + val_size),
                            slice(test_start, test_start + test_size)))
    return splits


@dataclass(frozen=True)
class Scaler:
    """Standardisation fitted on training rows only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Scaler:
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean) / self.std).astype(np.float32)


def sequences(X: np.ndarray, length: int) -> np.ndarray:
    """Windows of ``length`` consecutive rows ending at each row >= length - 1."""
    if len(X) < length:
        return np.empty((0, length, X.shape[1]), dtype=X.dtype)
    win = np.lib.stride_tricks.sliding_window_view(X, length, axis=0)  # (n-l+1, k, l)
    return np.ascontiguousarray(win.transpose(0, 2, 1))
