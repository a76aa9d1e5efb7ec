"""A moving-average cross rule: long while the fast simple moving average is above the slow.

Enter when the fast SMA crosses above the slow one on a closed candle of the symbol's finest
timeframe (strictly below on the previous candle, strictly above on this one: the definition of
backtesting.py's ``crossover``); close the long on the opposite cross. The averages are
precomputed for a whole series at preload and read by index; a candle the preload did not
cover (live) is computed from the window with the same function, so both paths agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.domain.errors import ConfigError
from tradeloop.strategies.params import Param, ParamSchema, Rule

MA_CROSS_SCHEMA = ParamSchema(
    (Param("fast", "int", 10, 1, 5000, 1, "fast SMA length (closes)", search=(2, 100)),
     Param("slow", "int", 30, 2, 5000, 1, "slow SMA length (closes)", search=(5, 300))),
    (Rule(lambda p: p["fast"] < p["slow"], "fast must be below slow"),))
_D = MA_CROSS_SCHEMA.defaults()


@dataclass(frozen=True)
class MaCrossParams:
    fast: int = int(_D["fast"])
    slow: int = int(_D["slow"])

    def __post_init__(self) -> None:
        if not 1 <= self.fast < self.slow:
            raise ConfigError(f"ma_cross needs 1 <= fast < slow (got fast={self.fast}, "
                              f"slow={self.slow})")


def sma(close: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of ``n`` closes, NaN until ``n`` closes exist."""
    out = np.full(len(close), np.nan)
    if len(close) >= n:
        out[n - 1:] = np.mean(sliding_window_view(np.asarray(close, dtype=np.float64), n),
                              axis=1)
    return out


class MaCrossStrategy:
    """Long on a golden cross, flat on a death cross (finest timeframe only). Honours the
    gate's holds for entries (a paused or halted symbol opens nothing)."""

    name = "ma_cross"
    needs_models = False

    def __init__(self, params: MaCrossParams | None = None) -> None:
        self.p = params or MaCrossParams()
        self.history = self.p.slow + 1
        # per series: open times and the two averages, as lists (read one value per candle)
        self._pre: dict[tuple[str, str], tuple[list[int], list[float], list[float]]] = {}

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        self._pre[(key.symbol, key.timeframe)] = (
            candles.open_time.tolist(), sma(candles.close, self.p.fast).tolist(),
            sma(candles.close, self.p.slow).tolist())

    def _averages(self, ctx: Context) -> tuple[float, float, float, float]:
        """(fast, slow) on the previous and on this candle."""
        pre = self._pre.get((ctx.symbol, ctx.timeframe))
        if pre is not None and 1 <= ctx.index < len(pre[0]) and \
                pre[0][ctx.index] == ctx.open_time:
            _, fast, slow = pre
            i = ctx.index
            return fast[i - 1], slow[i - 1], fast[i], slow[i]
        close = ctx.candles.close[-(self.p.slow + 1):]
        if len(close) < 2:
            nan = float("nan")
            return nan, nan, nan, nan
        fast_w, slow_w = sma(close, self.p.fast), sma(close, self.p.slow)
        return float(fast_w[-2]), float(slow_w[-2]), float(fast_w[-1]), float(slow_w[-1])

    def decide(self, ctx: Context) -> Decision | None:
        if not ctx.finest:
            return None
        f0, s0, f1, s1 = self._averages(ctx)
        if ctx.holding:
            if f0 > s0 and f1 < s1:
                return Decision("sell", f"ma_cross: SMA{self.p.fast} {f1:,.4g} crossed below "
                                        f"SMA{self.p.slow} {s1:,.4g}")
            return None
        if ctx.held:
            return None
        if f0 < s0 and f1 > s1:
            return Decision("buy", f"ma_cross: SMA{self.p.fast} {f1:,.4g} crossed above "
                                   f"SMA{self.p.slow} {s1:,.4g}")
        return None
