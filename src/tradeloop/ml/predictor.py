"""Serving the champion models with plain torch (no Lightning, no MLflow on this path).

A missing, corrupt or incompatible model leaves its (symbol, timeframe) without a prediction
and records why in :attr:`Predictor.errors`; it never raises into the caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import erf
from torch import nn

from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.errors import ModelLoadError, TradeloopError
from tradeloop.domain.signals import CLASS_NAMES
from tradeloop.ml.calibration import Calibration
from tradeloop.ml.features import LOOKBACK, compute_features
from tradeloop.ml.model_file import ModelArtifact
from tradeloop.ml.nets import MLP, build_net
from tradeloop.ports import ModelRef, ModelRegistry

log = logging.getLogger(__name__)
_SQRT_HALF = 0.7071067811865476


@dataclass(frozen=True)
class Prediction:
    """A calibrated class forecast for the newest closed candle of one series."""

    symbol: str
    timeframe: str
    candle_time: int
    direction: str
    probabilities: tuple[float, float, float]  # down, flat, up
    confidence: float
    model_version: str


@dataclass
class _Loaded:
    ref: ModelRef
    net: nn.Module
    mean: np.ndarray
    std: np.ndarray
    calibration: Calibration
    sequence_length: int
    linear_layers: list[tuple[np.ndarray, np.ndarray]] | None = None

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Class logits (float64) for one input row (MLP) or sequence (GRU).

        An MLP runs in numpy — linear layers and exact GELU; dropout is the identity in eval —
        because torch's per-call overhead dominates a one-row forward pass. Replay and live
        use this same path, so they agree exactly.
        """
        if self.linear_layers is None:
            with torch.inference_mode():
                out = self.net(torch.from_numpy(x)[None]).numpy()[0]
            return out.astype(np.float64)
        *hidden, (w_out, b_out) = self.linear_layers
        h = x.astype(np.float64)
        for w, b in hidden:
            z = w @ h + b
            h = 0.5 * z * (1.0 + erf(z * _SQRT_HALF))
        return w_out @ h + b_out

    def logits_batch(self, X: np.ndarray) -> np.ndarray:
        """Logits (float64) of many rows (MLP) or sequences (GRU) at once."""
        if self.linear_layers is None:
            with torch.inference_mode():
                return self.net(torch.from_numpy(X)).numpy().astype(np.float64)
        *hidden, (w_out, b_out) = self.linear_layers
        h = X.astype(np.float64)
        for w, b in hidden:
            z = h @ w.T + b
            h = 0.5 * z * (1.0 + erf(z * _SQRT_HALF))
        return h @ w_out.T + b_out


def load_model(ref: ModelRef) -> _Loaded:
    """Build the network of a model file; ModelLoadError if it cannot be served."""
    art = ModelArtifact.load(ref.path)
    try:
        net = build_net(art.architecture, len(art.feature_names), art.arch_params)
        net.load_state_dict(art.state_dict)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"incompatible model file {ref.path}: {str(exc)[:300]}") from None
    net.eval()
    linear = None
    if isinstance(net, MLP):
        linear = [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
                  for m in net.net if isinstance(m, nn.Linear)]
    return _Loaded(ref, net, np.asarray(art.scaler_mean), np.asarray(art.scaler_std),
                   Calibration(art.temperature, (art.class_bias[0], art.class_bias[1],
                                                 art.class_bias[2])),
                   art.sequence_length, linear)


class Predictor:
    """Predicts with the champion of each (symbol, timeframe), reloading when it changes."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self.errors: dict[tuple[str, str], str] = {}
        self._models: dict[tuple[str, str], _Loaded] = {}
        self._features: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        torch.set_num_threads(1)

    def preload_features(self, symbol: str, timeframe: str, candles: CandleArrays) -> None:
        """Compute a whole series' features at once (replay). The rows are bit-identical to
        what the per-candle path computes, so predictions do not change, only their cost."""
        self._features[(symbol, timeframe)] = (candles.open_time.copy(),
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

    def model(self, symbol: str, timeframe: str) -> _Loaded | None:
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

    def _fail(self, key: tuple[str, str], message: str) -> None:
        if self.errors.get(key) != message:
            log.warning("no prediction for %s %s: %s", key[0], key[1], message)
        self.errors[key] = message
        self._models.pop(key, None)
