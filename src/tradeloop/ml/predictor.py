"""Serving the champion models with plain torch (no Lightning, no MLflow on this path).

A missing, corrupt or incompatible model leaves its (symbol, timeframe) without a prediction
and records why in :attr:`Predictor.errors`; it never raises into the caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.errors import ModelLoadError, TradeloopError
from tradeloop.ml.calibration import Calibration
from tradeloop.ml.features import LOOKBACK, compute_features
from tradeloop.ml.labels import CLASS_NAMES
from tradeloop.ml.model_file import ModelArtifact
from tradeloop.ml.nets import MLP, build_net
from tradeloop.ports import ModelRef, ModelRegistry

log = logging.getLogger(__name__)


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
    linear_layers: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output. MLPs run the same kernels as their modules (linear, GELU;
        dropout is the identity in eval) without nn.Module dispatch, which dominates the cost
        of a one-row forward pass."""
        if self.linear_layers is None:
            return self.net(x)
        *hidden, (w_out, b_out) = self.linear_layers
        for w, b in hidden:
            x = functional.gelu(functional.linear(x, w, b))
        return functional.linear(x, w_out, b_out)


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
        linear = [(m.weight.detach(), m.bias.detach()) for m in net.net
                  if isinstance(m, nn.Linear)]
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

    def candles_needed(self, symbol: str, timeframe: str) -> int:
        loaded = self._models.get((symbol, timeframe))
        return LOOKBACK + (loaded.sequence_length if loaded else 1) - 1

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
            x = torch.from_numpy(rows if loaded.sequence_length > 1 else rows[-1])[None]
            with torch.inference_mode():
                logits = loaded.logits(x).numpy().astype(np.float64)
            probs = loaded.calibration.apply(logits)[0]
        except TradeloopError as exc:
            self._fail(key, str(exc))
            return None
        except Exception as exc:  # a model must never take the caller down
            self._fail(key, f"{symbol} {timeframe}: prediction failed: "
                            f"{exc.__class__.__name__}: {exc}")
            return None
        self.errors.pop(key, None)
        cls = int(probs.argmax())
        return Prediction(symbol, timeframe, int(candles.open_time[-1]), CLASS_NAMES[cls],
                          (float(probs[0]), float(probs[1]), float(probs[2])),
                          float(probs[cls]), loaded.ref.version)

    def _fail(self, key: tuple[str, str], message: str) -> None:
        if self.errors.get(key) != message:
            log.warning("no prediction for %s %s: %s", key[0], key[1], message)
        self.errors[key] = message
        self._models.pop(key, None)
