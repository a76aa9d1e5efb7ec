"""The model file: weights plus everything needed to serve them (features, scaler, calibration).

Saved with ``torch.save`` and loaded with ``torch.load(weights_only=True)``, so loading a file
never runs code from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tradeloop.domain.errors import ModelLoadError
from tradeloop.ml.features import FEATURE_NAMES

FORMAT = "tradeloop-classifier/1"


@dataclass
class ModelArtifact:
    """A trained classifier and its serving metadata."""

    symbol: str
    timeframe: str
    architecture: str
    arch_params: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
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

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": FORMAT, **self.__dict__}
        tmp = path.with_name(path.name + ".tmp")
        torch.save(payload, tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> ModelArtifact:
        """Read a model file; a clear :class:`ModelLoadError` for anything wrong with it."""
        if not path.exists():
            raise ModelLoadError(f"model file not found: {path}")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelLoadError(f"corrupt model file {path}: {exc.__class__.__name__}: "
                                 f"{str(exc)[:200]}") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
            raise ModelLoadError(f"incompatible model file {path}: format {found!r}, "
                                 f"expected {FORMAT!r}")
        payload.pop("format")
        try:
            art = cls(**payload)
        except TypeError as exc:
            raise ModelLoadError(f"incompatible model file {path}: {exc}") from None
        if list(art.feature_names) != list(FEATURE_NAMES):
            raise ModelLoadError(
                f"incompatible model file {path}: trained on features {art.feature_names}, "
                f"this version computes {list(FEATURE_NAMES)}; retrain it")
        return art
