"""Serving the champion models: an MLP in numpy, a GRU in torch (never Lightning or MLflow).

A missing, corrupt or incompatible model leaves its (symbol, timeframe) without a prediction
and records why in :attr:`Predictor.errors`; it never raises into the caller.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import erf

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.errors import ModelLoadError, TradeloopError
from tradeloop.domain.signals import CLASS_NAMES, Prediction
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ml.calibration import Calibration
from tradeloop.ml.drift import FeatureDrift
from tradeloop.ml.features import LOOKBACK, compute_features
from tradeloop.ml.model_file import ModelArtifact
from tradeloop.ml.sentiment_features import mismatch
from tradeloop.ports import ModelRef, ModelRegistry, NewsFeatures

log = logging.getLogger(__name__)
_SQRT_HALF = 0.7071067811865476
_MLP_KEY = re.compile(r"^net\.(\d+)\.(weight|bias)$")


@dataclass
class ServedModel:
    """A served model: an MLP as numpy matrices, anything else as a torch module."""

    ref: ModelRef
    mean: np.ndarray
    std: np.ndarray
    calibration: Calibration
    sequence_length: int
    linear_layers: list[tuple[np.ndarray, np.ndarray]] | None = None
    net: Any = None  # torch module (GRU): torch is imported only when one is served
    drift: FeatureDrift | None = None  # fitted on the model's training window
    # its news features' (sentiment model, window, half-life); ("", 0, 0): it has none
    sentiment: tuple[str, int, int] = ("", 0, 0)
    data_to: int = 0  # where the data it was fitted on ends: its last sample's label

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Class logits (float64) for one input row (MLP) or sequence (GRU)."""
        return self.logits_batch(x[None])[0]

    def logits_batch(self, X: np.ndarray) -> np.ndarray:
        """Logits (float64) of many rows (MLP) or sequences (GRU) at once.

        An MLP runs in numpy — linear layers and exact GELU; dropout is the identity in eval —
        because torch's import (~220 MB) and per-call overhead dominate one-row forward passes.
        Replay and live use this same path, so they agree exactly.
        """
        if self.linear_layers is None:
            import torch

            with torch.inference_mode():
                return self.net(torch.from_numpy(X)).numpy().astype(np.float64)
        *hidden, (w_out, b_out) = self.linear_layers
        h = X.astype(np.float64)
        for w, b in hidden:
            z = h @ w.T + b
            h = 0.5 * z * (1.0 + erf(z * _SQRT_HALF))
        return h @ w_out.T + b_out


def _mlp_layers(art: ModelArtifact, where: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The MLP's (weight, bias) pairs in order, checked to chain features -> 3 classes."""
    found: dict[int, dict[str, np.ndarray]] = {}
    for name, value in art.state_dict.items():
        m = _MLP_KEY.match(name)
        if m is None:
            raise ModelLoadError(f"incompatible model file {where}: unexpected weight {name!r}")
        found.setdefault(int(m.group(1)), {})[m.group(2)] = value
    layers = []
    width = len(art.feature_names)
    for i in sorted(found):
        w, b = found[i].get("weight"), found[i].get("bias")
        if w is None or b is None or w.ndim != 2 or w.shape[1] != width or b.shape != w.shape[:1]:
            raise ModelLoadError(f"incompatible model file {where}: layer {i} does not take "
                                 f"{width} inputs")
        layers.append((w.astype(np.float64), b.astype(np.float64)))
        width = w.shape[0]
    hidden = int(art.arch_params.get("hidden_size", 64))
    for i, (w, _) in enumerate(layers[:-1]):
        if w.shape[0] != hidden:
            raise ModelLoadError(f"incompatible model file {where}: layer {i} has "
                                 f"{w.shape[0]} units, hidden_size is {hidden}")
    expected = int(art.arch_params.get("num_layers", 2)) + 1
    if len(layers) != expected or width != len(CLASS_NAMES):
        raise ModelLoadError(f"incompatible model file {where}: {len(layers)} layers ending in "
                             f"{width} outputs, expected {expected} ending in {len(CLASS_NAMES)}")
    return layers


def _torch_net(art: ModelArtifact, where: str) -> Any:
    import torch

    from tradeloop.ml.nets import build_net

    torch.set_num_threads(1)
    try:
        net = build_net(art.architecture, len(art.feature_names), art.arch_params)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in art.state_dict.items()})
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"incompatible model file {where}: {str(exc)[:300]}") from None
    net.eval()
    return net


def load_model(ref: ModelRef) -> ServedModel:
    """Prepare a model file for serving; ModelLoadError if it cannot be served."""
    art = ModelArtifact.load(ref.path)
    linear = net = None
    if art.architecture == "mlp":
        linear = _mlp_layers(art, str(ref.path))
    else:
        net = _torch_net(art, str(ref.path))
    try:
        drift = (None if art.drift_reference is None
                 else FeatureDrift.from_dict(art.drift_reference))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"incompatible model file {ref.path}: drift reference: "
                             f"{exc}") from None
    return ServedModel(ref, np.asarray(art.scaler_mean), np.asarray(art.scaler_std),
                   Calibration(art.temperature, (art.class_bias[0], art.class_bias[1],
                                                 art.class_bias[2])),
                   art.sequence_length, linear, net, drift, art.sentiment_inputs,
                   art.trained_to + Timeframe.parse(art.timeframe).ms + art.horizon_span_ms)


class ChampionPredictor:
    """Predicts with the champion of each (symbol, timeframe), reloading when it changes (the
    Predictor port). A model trained with news sentiment features is served only with
    ``news`` of the same sentiment model; otherwise it is refused with the reason."""

    def __init__(self, registry: ModelRegistry, news: NewsFeatures | None = None) -> None:
        self.registry, self.news = registry, news
        self.errors: dict[tuple[str, str], str] = {}
        self._models: dict[tuple[str, str], ServedModel] = {}
        self._features: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        """Compute a whole series' features at once (replay, warm-up). The rows are
        bit-identical to what the per-candle path computes, so predictions do not change,
        only their cost."""
        self._features[(key.symbol, key.timeframe)] = (candles.open_time.copy(),
                                                       compute_features(candles))

    def _feature_rows(self, key: tuple[str, str], candles: CandleArrays, need: int,
                      rows: int) -> np.ndarray:
        cached = self._features.get(key)
        if cached is not None:
            times, feats = cached
            last = candles.open_time[-1]
            i = int(np.searchsorted(times, last))
            if i < len(times) and times[i] == last and i + 1 >= rows:
                return feats[i + 1 - rows: i + 1]
        return compute_features(candles.take(slice(len(candles) - need, None)))[-rows:]

    def model(self, symbol: str, timeframe: str) -> ServedModel | None:
        key = (symbol, timeframe)
        ref = self.registry.champion(symbol, timeframe)
        if ref is None:
            raise ModelLoadError(f"no champion model for {symbol} {timeframe}; run "
                                 f"`tradeloop train --symbol {symbol} --interval {timeframe}`")
        loaded = self._models.get(key)
        if loaded is None or loaded.ref != ref:
            loaded = load_model(ref)
            self._models[key] = loaded
        return loaded

    def drift_reference(self, symbol: str, timeframe: str) -> FeatureDrift | None:
        """The serving champion's feature-drift detector (its training window), if any."""
        loaded = self._models.get((symbol, timeframe))
        return None if loaded is None else loaded.drift

    def model_time(self, symbol: str, timeframe: str) -> int | None:
        """Where the serving champion's training data ends (None: no usable champion)."""
        try:
            loaded = self.model(symbol, timeframe)
        except TradeloopError:
            return None
        return loaded.data_to if loaded is not None else None

    def predict(self, symbol: str, timeframe: str, candles: CandleArrays) -> Prediction | None:
        """Forecast for ``candles``' newest (closed) candle, or None with the reason recorded."""
        key = (symbol, timeframe)
        try:
            loaded = self.model(symbol, timeframe)
            assert loaded is not None
            need = LOOKBACK + loaded.sequence_length - 1
            if len(candles) < need:
                raise ModelLoadError(f"{symbol} {timeframe}: {len(candles)} candles given, "
                                     f"{need} needed for a prediction")
            feats = self._feature_rows(key, candles, need, loaded.sequence_length)
            if loaded.sentiment[0]:
                feats = np.concatenate([feats, self._news_rows(
                    loaded, symbol, candles, timeframe, loaded.sequence_length)], axis=1)
            rows = ((feats - loaded.mean) / loaded.std).astype(np.float32)
            if not np.isfinite(rows).all():
                raise ModelLoadError(f"{symbol} {timeframe}: non-finite features at "
                                     f"{int(candles.open_time[-1])}")
            probs = loaded.calibration.apply_row(
                loaded.logits(rows if loaded.sequence_length > 1 else rows[-1]))
        except TradeloopError as exc:
            self._fail(key, str(exc))
            return None
        except Exception as exc:  # a model must never take the caller down
            self._fail(key, f"{symbol} {timeframe}: prediction failed: "
                            f"{exc.__class__.__name__}: {exc}")
            return None
        self.errors.pop(key, None)
        cls = max(range(3), key=probs.__getitem__)
        return Prediction(symbol, timeframe, int(candles.open_time[-1]), CLASS_NAMES[cls],
                          probs, probs[cls], loaded.ref.version)

    def _news_rows(self, loaded: ServedModel, symbol: str, candles: CandleArrays,
                   timeframe: str, rows: int) -> np.ndarray:
        """The sentiment features at the closes of the last ``rows`` candles."""
        why = mismatch(loaded.sentiment, self.news)
        if why is not None or self.news is None:
            raise ModelLoadError(f"{symbol} {timeframe}: champion v{loaded.ref.version} uses "
                                 f"news sentiment features: {why}; retrain it")
        step = Timeframe.parse(timeframe).ms
        return self.news.features(symbol, candles.open_time[-rows:] + step)

    def _fail(self, key: tuple[str, str], message: str) -> None:
        if self.errors.get(key) != message:
            log.warning("no prediction for %s %s: %s", key[0], key[1], message)
        self.errors[key] = message
        self._models.pop(key, None)
