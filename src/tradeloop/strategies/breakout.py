"""A range-breakout rule strategy (seed 004's "Defining Order Breakout", for crypto bars).

The defining range is the high/low of the previous ``range_bars`` candles of the symbol's
finest timeframe. Enter long when a candle closes at least ``min_breakout_percent`` above the
range high, with RSI(14) inside its safe band (no chasing an overbought move) and volume at
least ``volume_ratio`` times the range's mean; leave when a candle closes below the low of the
previous ``exit_bars`` candles. Stops, take-profit, blocked hours and the blacklist come from
the risk manager as for every strategy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.strategies.ml import MlStrategy
from tradeloop.strategies.params import Param, ParamSchema, Rule

RSI_PERIOD = 14


BREAKOUT_SCHEMA = ParamSchema(
    (Param("range_bars", "int", 24, 2, 1000, 1, "the defining range: previous N candles",
           search=(6, 120)),
     Param("min_breakout_percent", "float", 0.4, 0, 50, 0.05,
           "close at least this % above the range high", search=(0, 3)),
     Param("rsi_lower", "float", 30.0, 0, 100, 1, "RSI(14) must be at least this"),
     Param("rsi_upper", "float", 70.0, 0, 100, 1, "... and at most this (no chasing)"),
     Param("volume_ratio", "float", 1.5, 0, 100, 0.1, "volume vs the range's mean",
           search=(0.5, 4)),
     Param("exit_bars", "int", 12, 1, 1000, 1, "leave on a close below the N-candle low",
           search=(3, 72))),
    (Rule(lambda p: p["rsi_lower"] < p["rsi_upper"], "rsi_lower must be below rsi_upper"),))
_D = BREAKOUT_SCHEMA.defaults()


@dataclass(frozen=True)
class BreakoutParams:
    range_bars: int = int(_D["range_bars"])
    min_breakout_percent: float = float(_D["min_breakout_percent"])
    rsi_lower: float = float(_D["rsi_lower"])
    rsi_upper: float = float(_D["rsi_upper"])
    volume_ratio: float = float(_D["volume_ratio"])
    exit_bars: int = int(_D["exit_bars"])


def rsi(close: np.ndarray, period: int = RSI_PERIOD) -> float:
    """Wilder's RSI of the last close (NaN with fewer than ``period + 1`` closes)."""
    if len(close) < period + 1:
        return float("nan")
    diff = np.diff(close.astype(float))
    gain, loss = np.clip(diff, 0, None), np.clip(-diff, 0, None)
    avg_gain, avg_loss = gain[:period].mean(), loss[:period].mean()
    for g, lo in zip(gain[period:], loss[period:], strict=True):
        avg_gain = (avg_gain * (period - 1) + g) / period
        avg_loss = (avg_loss * (period - 1) + lo) / period
    if avg_loss == 0:
        return 100.0 if avg_gain > 0 else 50.0
    return float(100 - 100 / (1 + avg_gain / avg_loss))


class BreakoutStrategy:
    """Rule entries and exits on the finest timeframe; ignores the ML gate's mode (but not
    its holds: a paused, stale or halted symbol opens nothing; a retraining of the models
    holds only strategies that need them)."""

    name = "breakout"
    needs_models = False

    def __init__(self, params: BreakoutParams | None = None) -> None:
        self.p = params or BreakoutParams()
        self.rsi_bars = 6 * RSI_PERIOD  # Wilder smoothing settles within this
        self.history = max(self.p.range_bars + 1, self.p.exit_bars + 1, self.rsi_bars)

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        """Nothing precomputed: the rule reads its window (a few dozen candles)."""

    def decide(self, ctx: Context) -> Decision | None:
        if not ctx.finest:
            return None
        c = ctx.candles
        if len(c) < self.history:
            return None
        close = float(c.close[-1])
        if ctx.holding:
            floor = float(np.min(c.low[-1 - self.p.exit_bars:-1]))
            if close < floor:
                return Decision("sell", f"breakout: close {close:,.2f} < {self.p.exit_bars}-bar "
                                        f"low {floor:,.2f}")
            return None
        if ctx.held:
            return None
        high = float(np.max(c.high[-1 - self.p.range_bars:-1]))
        strength = 100 * (close / high - 1)
        if strength < self.p.min_breakout_percent:
            return None
        r = rsi(c.close[-self.rsi_bars:])
        if not self.p.rsi_lower <= r <= self.p.rsi_upper:
            return None
        mean_volume = float(np.mean(c.volume[-1 - self.p.range_bars:-1]))
        if mean_volume <= 0 or float(c.volume[-1]) < self.p.volume_ratio * mean_volume:
            return None
        return Decision("buy", f"breakout: close {close:,.2f} > {self.p.range_bars}-bar high "
                               f"{high:,.2f} (+{strength:.2f}%), RSI {r:.0f}, volume "
                               f"{float(c.volume[-1]) / mean_volume:.1f}x")


class DualStrategy:
    """Dual confirmation: a breakout entry only while the ML gate is TRADING with an up
    forecast; either strategy's exit closes the long."""

    name = "ml+breakout"
    needs_models = True

    def __init__(self, params: BreakoutParams | None = None) -> None:
        self.ml, self.breakout = MlStrategy(), BreakoutStrategy(params)
        self.history = self.breakout.history

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        self.breakout.preload(key, candles)

    def decide(self, ctx: Context) -> Decision | None:
        if ctx.holding:
            return self.ml.decide(ctx) or self.breakout.decide(ctx)
        rule = self.breakout.decide(ctx)
        ml = self.ml.decide(ctx)
        if rule is not None and ml is not None:
            return Decision("buy", f"ml+breakout: {ml.reason.removeprefix('ml: ')} and "
                                   f"{rule.reason.removeprefix('breakout: ')}")
        return None
