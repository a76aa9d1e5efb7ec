"""What a strategy sees at a candle close and what it may ask for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.gate import Mode

Action = Literal["buy", "sell"]


class Context:
    """One closed candle of (symbol, timeframe) as the engine sees it after the prediction.

    ``p_up``/``p_down`` are the aggregated ML signal: the calibrated probabilities that the
    traded event (the move over the shared horizon, beyond the fee band) is up / down (None
    without a valid prediction); ``entry_floor`` is the probability an entry needs
    (``trading_threshold``), ``exit_floor`` the down probability that closes a long
    (threshold - hysteresis); ``held`` is true while an operator pause, a retrain, an error,
    stale data or a risk halt holds the symbol; ``candles`` is the series' window up to the
    closed candle (made on first use when given as a function: a strategy reading
    precomputed indicators never pays for it); ``index`` is that candle's index in the
    engine's candle book and ``open_time`` its open time (the keys for indicators a strategy
    precomputed at preload); ``entry_time``/``entry_price`` are the open position's (None when
    flat): exits that depend on the entry (stops, targets, holding time) are computed from
    them and the candles, so they hold across a restart."""

    __slots__ = ("_candles", "entry_floor", "entry_price", "entry_time", "exit_floor", "finest",
                 "held", "holding", "index", "mode", "open_time", "p_down", "p_up", "symbol",
                 "timeframe")

    def __init__(self, symbol: str, timeframe: str, finest: bool, mode: Mode, held: bool,
                 holding: bool, p_up: float | None, p_down: float | None,
                 entry_floor: float, exit_floor: float,
                 candles: CandleArrays | Callable[[], CandleArrays],
                 index: int = -1, open_time: int | None = None,
                 entry_time: int | None = None, entry_price: float | None = None) -> None:
        self.symbol, self.timeframe, self.finest, self.mode = symbol, timeframe, finest, mode
        self.held, self.holding, self.p_up, self.p_down = held, holding, p_up, p_down
        self.entry_floor, self.exit_floor, self._candles = entry_floor, exit_floor, candles
        self.index = index
        self.entry_time, self.entry_price = entry_time, entry_price
        self.open_time = open_time if open_time is not None else \
            int(self.candles.open_time[-1]) if len(self.candles) else -1

    @property
    def candles(self) -> CandleArrays:
        if callable(self._candles):
            self._candles = self._candles()
        return self._candles


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str
