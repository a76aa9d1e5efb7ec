"""Seed 000's initial strategy candidates as rule strategies: momentum breakout, mean
reversion, volatility breakout and range trading (ML trend following is
``strategies/ml_trend.py``).

Each is a pair of vectorised signals over a series (entry, exit) in which every candle's
value depends only on the last ``history`` candles: the arrays precomputed at preload and the
ones computed live from the window agree exactly. Decisions are taken on closed candles of the
finest timeframe; the gate's holds (pause, error, stale data, halt; not a retraining of the
models, which holds only strategies that need them) stop entries, the risk manager's stops
apply as for every strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.strategies.indicators import previous, rolling, true_range
from tradeloop.strategies.params import Param, ParamSchema, Rule


@dataclass(frozen=True)
class Signals:
    entry: np.ndarray  # bool per candle
    exit: np.ndarray  # bool per candle


class SignalStrategy:
    """A rule strategy from two vectorised signals (subclasses: ``signals`` and
    ``lookback``)."""

    name: str
    schema: ClassVar[ParamSchema]
    needs_models = False

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.p = self.schema.resolve(params, f"strategy {self.name!r}")
        self.history = self.lookback() + 1
        self._pre: dict[tuple[str, str], tuple[np.ndarray, Signals]] = {}

    def lookback(self) -> int:
        raise NotImplementedError

    def signals(self, c: CandleArrays) -> Signals:
        raise NotImplementedError

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        self._pre[(key.symbol, key.timeframe)] = (candles.open_time.copy(),
                                                  self.signals(candles))

    def decide(self, ctx: Context) -> Decision | None:
        if not ctx.finest:
            return None
        pre = self._pre.get((ctx.symbol, ctx.timeframe))
        if pre is not None and 0 <= ctx.index < len(pre[0]) and \
                pre[0][ctx.index] == ctx.open_time:
            sig, i = pre[1], ctx.index
        else:
            sig = self.signals(ctx.candles)
            i = len(ctx.candles) - 1
        if i + 1 < self.history:  # warm-up, the same on both paths
            return None
        if ctx.holding:
            return Decision("sell", f"{self.name}: {self.exit_reason}") if sig.exit[i] \
                else None
        if ctx.held or not sig.entry[i]:
            return None
        return Decision("buy", f"{self.name}: {self.entry_reason}")

    entry_reason: ClassVar[str] = "entry"
    exit_reason: ClassVar[str] = "exit"


class MomentumBreakout(SignalStrategy):
    """Buy a close at a new ``lookback``-candle high after a rise of at least
    ``min_roc_percent`` over ``roc_bars``; sell when that rate of change turns negative."""

    name = "momentum_breakout"
    schema = ParamSchema(
        (Param("lookback", "int", 48, 2, 5000, 1, "candles whose high the close must top",
               search=(12, 240)),
         Param("roc_bars", "int", 12, 1, 5000, 1, "candles of the rate of change",
               search=(3, 96)),
         Param("min_roc_percent", "float", 1.0, 0, 100, 0.1, "rise over roc_bars at least",
               search=(0.2, 5))))
    entry_reason = "new high with momentum"
    exit_reason = "momentum turned negative"

    def lookback(self) -> int:
        return max(int(self.p["lookback"]), int(self.p["roc_bars"])) + 1

    def signals(self, c: CandleArrays) -> Signals:
        close = c.close.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            roc = 100 * (close / previous(close, int(self.p["roc_bars"])) - 1)
        high = previous(rolling(c.high, int(self.p["lookback"]), "max"))
        return Signals((close > high) & (roc >= self.p["min_roc_percent"]), roc < 0)


class MeanReversion(SignalStrategy):
    """Buy a close ``entry_z`` standard deviations below its ``window``-candle mean; sell once
    it is back within ``exit_z`` of it (or above)."""

    name = "mean_reversion"
    schema = ParamSchema(
        (Param("window", "int", 48, 5, 5000, 1, "candles of the mean and deviation",
               search=(12, 240)),
         Param("entry_z", "float", 2.0, 0.1, 10, 0.1, "buy this many deviations below",
               search=(1, 3.5)),
         Param("exit_z", "float", 0.0, -5, 10, 0.1,
               "sell once the close is back above mean - exit_z deviations", search=(-1, 1))),
        (Rule(lambda p: bool(p["exit_z"] < p["entry_z"]), "exit_z must be below entry_z"),))
    entry_reason = "stretched below its mean"
    exit_reason = "back to its mean"

    def lookback(self) -> int:
        return int(self.p["window"])

    def signals(self, c: CandleArrays) -> Signals:
        close = c.close.astype(float)
        w = int(self.p["window"])
        mean, sd = rolling(close, w, "mean"), rolling(close, w, "std")
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(sd > 0, (close - mean) / sd, 0.0)
        return Signals(z <= -self.p["entry_z"], z >= -self.p["exit_z"])


class VolatilityBreakout(SignalStrategy):
    """Buy a close more than ``k`` ATRs above the previous close (a range expansion up); sell
    on a close ``k_exit`` ATRs below the previous one."""

    name = "volatility_breakout"
    schema = ParamSchema(
        (Param("atr_window", "int", 24, 2, 5000, 1, "ATR length", search=(6, 120)),
         Param("k", "float", 1.5, 0.1, 20, 0.1, "entry: rise in ATRs", search=(0.5, 4)),
         Param("k_exit", "float", 1.0, 0.1, 20, 0.1, "exit: fall in ATRs", search=(0.3, 3))))
    entry_reason = "range expansion up"
    exit_reason = "range expansion down"

    def lookback(self) -> int:
        return int(self.p["atr_window"]) + 1

    def signals(self, c: CandleArrays) -> Signals:
        close = c.close.astype(float)
        atr = previous(rolling(true_range(c), int(self.p["atr_window"]), "mean"))
        move = close - previous(close)
        return Signals(move > self.p["k"] * atr, move < -self.p["k_exit"] * atr)


class RangeTrading(SignalStrategy):
    """In a quiet market (ATR over ``fast`` candles below ``max_vol_ratio`` x the ATR over
    ``slow``), buy a close under the lower band (mean - ``band_z`` deviations over ``window``);
    sell at the mean, or when the market stops being quiet."""

    name = "range_trading"
    schema = ParamSchema(
        (Param("window", "int", 48, 5, 5000, 1, "candles of the band", search=(12, 240)),
         Param("band_z", "float", 1.5, 0.1, 10, 0.1, "lower band in deviations",
               search=(0.8, 3)),
         Param("fast", "int", 24, 2, 5000, 1, "short ATR", search=(6, 96)),
         Param("slow", "int", 240, 3, 10000, 1, "long ATR", search=(96, 960)),
         Param("max_vol_ratio", "float", 0.8, 0.1, 5, 0.05, "quiet: short / long ATR below",
               search=(0.5, 1.2))),
        (Rule(lambda p: bool(p["fast"] < p["slow"]), "fast must be below slow"),))
    entry_reason = "at the lower band of a quiet range"
    exit_reason = "back at the mean or the range broke"

    def lookback(self) -> int:
        return max(int(self.p["window"]), int(self.p["slow"]))

    def signals(self, c: CandleArrays) -> Signals:
        close = c.close.astype(float)
        w = int(self.p["window"])
        mean, sd = rolling(close, w, "mean"), rolling(close, w, "std")
        tr = true_range(c)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = rolling(tr, int(self.p["fast"]), "mean") / rolling(
                tr, int(self.p["slow"]), "mean")
        quiet = ratio < self.p["max_vol_ratio"]
        return Signals(quiet & (close < mean - self.p["band_z"] * sd),
                       (close >= mean) | (ratio > 1.0))


CLASSIC: tuple[type[SignalStrategy], ...] = (MomentumBreakout, MeanReversion,
                                             VolatilityBreakout, RangeTrading)
