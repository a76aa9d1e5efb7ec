"""What a strategy sees at a candle close and what it may ask for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.gate import Mode

Action = Literal["buy", "sell"]


@dataclass(frozen=True, slots=True)
class Context:
    """One closed candle of (symbol, timeframe) as the engine sees it after the prediction.

    ``direction``/``confidence`` are the aggregated ML signal (None without a valid
    prediction); ``held`` is true while an operator pause, a retrain, an error, stale data or a
    risk halt holds the symbol; ``candles`` is the series' window up to the closed candle and
    ``index`` that candle's index in the engine's candle book (the key for indicators a
    strategy precomputed at preload)."""

    symbol: str
    timeframe: str
    finest: bool
    mode: Mode
    held: bool
    holding: bool
    direction: str | None
    confidence: float | None
    exit_floor: float
    candles: CandleArrays
    index: int = -1


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str
