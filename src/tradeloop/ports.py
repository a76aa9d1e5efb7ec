"""Ports: the interfaces the engine and services depend on. Adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tradeloop.domain.candles import CandleArrays, SeriesKey


class Clock(Protocol):
    """The only source of 'now' (milliseconds since the epoch, UTC)."""

    def now_ms(self) -> int: ...

    def sleep(self, seconds: float) -> None: ...


class CandleSource(Protocol):
    """Fetches closed candles of one series from a market (an exchange, a file)."""

    def fetch(self, key: SeriesKey, since_ms: int, limit: int) -> CandleArrays: ...


@dataclass(frozen=True)
class ModelRef:
    """Where the model in service for one (symbol, timeframe) lives."""

    symbol: str
    timeframe: str
    version: str
    path: Path
    run_id: str | None = None


class ModelRegistry(Protocol):
    """Resolves the champion (model in service) of a (symbol, timeframe)."""

    def champion(self, symbol: str, timeframe: str) -> ModelRef | None: ...


class CandleReader(Protocol):
    """Read access to stored candles."""

    def load(self, key: SeriesKey, start_ms: int | None = None, end_ms: int | None = None
             ) -> CandleArrays: ...

    def count(self, key: SeriesKey | None = None) -> int: ...


class ModelRecorder(ModelRegistry, Protocol):
    """Records training runs and moves the champion (MLflow in production)."""

    def log_training(self, symbol: str, timeframe: str, *, model_path: Path,
                     params: dict[str, Any], history: list[dict[str, float]],
                     metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, str]) -> tuple[str, str]: ...

    def champion_version(self, symbol: str, timeframe: str) -> str | None: ...

    def set_champion(self, symbol: str, timeframe: str, version: str, local_file: Path
                     ) -> None: ...
