"""The model file: weights plus everything needed to serve them (features, scaler, calibration).

A numpy ``.npz`` archive: one array per weight tensor and a JSON header, saved and loaded with
``allow_pickle=False``, so loading a file never runs code from it — and serving an MLP needs
neither torch nor Lightning (the engine process stays small).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.domain.errors import ModelLoadError
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ml.features import FEATURE_NAMES
from tradeloop.ml.sentiment_features import SENTIMENT_FEATURES

# the inputs a model can be trained on: the candle features, and the news sentiment ones
INPUTS = (list(FEATURE_NAMES), [*FEATURE_NAMES, *SENTIMENT_FEATURES])

FORMAT = "tradeloop-classifier/2"
MODEL_SUFFIX = ".npz"
_HEADER = "__header__"
_WEIGHT = "w:"


@dataclass
class ModelArtifact:
    """A trained classifier and its serving metadata."""

    symbol: str
    timeframe: str
    architecture: str
    arch_params: dict[str, Any]
    state_dict: dict[str, np.ndarray]
    feature_names: list[str]
    scaler_mean: list[float]
    scaler_std: list[float]
    temperature: float
    class_bias: list[float]
    sequence_length: int
    horizon_bars: int
    dead_band: float
    trained_from: int
    trained_to: int
    metrics: dict[str, float] = field(default_factory=dict)
    # the feature-drift detector fitted on the training rows (ml/drift.py), None if too short
    drift_reference: dict[str, Any] | None = None
    # the traded event (domain/horizon.py): the move this long after a close, read from this series
    horizon_ms: int = 0  # 0: files from before the shared horizon, horizon_bars of their own
    label_timeframe: str = ""
    # the sentiment model whose scores its news features read ("" : no sentiment features)
    # and their window and decay half-life
    sentiment_model: str = ""
    sentiment_window_ms: int = 0
    sentiment_half_life_ms: int = 0

    @property
    def sentiment_inputs(self) -> tuple[str, int, int]:
        """What its sentiment features were computed with: (model, window, half-life)."""
        return self.sentiment_model, self.sentiment_window_ms, self.sentiment_half_life_ms

    @property
    def uses_sentiment(self) -> bool:
        return len(self.feature_names) > len(FEATURE_NAMES)

    @property
    def horizon_span_ms(self) -> int:
        """How far past a candle's close its label looks."""
        return self.horizon_ms or self.horizon_bars * Timeframe.parse(self.timeframe).ms

    def save(self, path: Path) -> Path:
        """Write atomically (temporary file, then rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {k: v for k, v in self.__dict__.items() if k != "state_dict"}
        arrays = {f"{_WEIGHT}{k}": np.ascontiguousarray(v) for k, v in self.state_dict.items()}
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=False,
                     **{_HEADER: np.array(json.dumps({"format": FORMAT, **header}))}, **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> ModelArtifact:
        """Read a model file; a clear :class:`ModelLoadError` for anything wrong with it."""
        if not path.exists():
            raise ModelLoadError(f"model file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as npz:
                header = json.loads(str(npz[_HEADER]))
                weights = {k[len(_WEIGHT):]: npz[k] for k in npz.files if k.startswith(_WEIGHT)}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise ModelLoadError(f"corrupt model file {path}: {exc.__class__.__name__}: "
                                 f"{str(exc)[:200]}") from None
        found = header.pop("format", None) if isinstance(header, dict) else None
        if found != FORMAT:
            raise ModelLoadError(f"incompatible model file {path}: format {found!r}, "
                                 f"expected {FORMAT!r}; retrain it")
        try:
            art = cls(state_dict=weights, **header)
        except TypeError as exc:
            raise ModelLoadError(f"incompatible model file {path}: {exc}") from None
        if list(art.feature_names) not in INPUTS:
            raise ModelLoadError(
                f"incompatible model file {path}: trained on features {art.feature_names}, "
                f"this version computes {list(FEATURE_NAMES)} (+ {list(SENTIMENT_FEATURES)} "
                f"with news sentiment); retrain it")
        return art
