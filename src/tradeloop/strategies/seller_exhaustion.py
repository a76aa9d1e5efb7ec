"""Seller Exhaustion (seed 001): buy the capitulation candle of a downtrend, sell into the
bounce.

Entry on a closed candle of the finest timeframe when
- the trend is down: EMA(``ema_fast``) below EMA(``ema_slow``);
- selling climaxed: volume and true range are ``vol_z`` / ``tr_z`` standard deviations above
  their means over the last ``z_window`` candles (this one included);
- buyers came back: the close sits at ``cloc_min`` or higher of the candle's range.
Exits (each switchable, as in the seed's ``backtest_params``), judged on closes:
- Fibonacci target: ``fib_target_level`` of the way back from the signal candle's low to the
  last swing high of the ``fib_swing_lookback`` candles before it. A swing high needs
  ``fib_swing_lookahead`` later candles to be known, so it is used only from the candle that
  confirms it, never earlier; without a swing high above the close there is no entry;
- ATR stop: ``atr_stop_mult`` x ATR(``atr_window``) below the signal candle's low;
- R-multiple take-profit: ``reward_r`` x (entry - stop) above the entry;
- time exit after ``max_hold`` candles.
A position is never kept past ``HOLD_LIMIT`` x ``max_hold`` candles (the strategy's memory:
the signal candle must stay in its window); the risk manager's stops apply as for every
strategy. EMAs are truncated at ``EMA_SPANS`` spans (< 2 % of the weight dropped), so every
indicator of a candle depends on a bounded window: the values precomputed at preload and the
ones computed live from the window agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.domain.timeframes import Timeframe
from tradeloop.strategies.indicators import EMA_SPANS, ema, rolling, true_range
from tradeloop.strategies.params import Param, ParamSchema, ParamValue, Rule

HOLD_LIMIT = 4

SELLER_EXHAUSTION_SCHEMA = ParamSchema(
    (Param("ema_fast", "int", 96, 2, 5000, 4, "fast EMA span (the trend filter)",
           search=(16, 192)),
     Param("ema_slow", "int", 672, 3, 10000, 16, "slow EMA span: a downtrend is fast < slow",
           search=(224, 1120)),
     Param("z_window", "int", 672, 10, 10000, 16, "candles for the volume and range z-scores",
           search=(96, 1120)),
     Param("atr_window", "int", 96, 2, 5000, 4, "ATR length (candles)", search=(8, 192)),
     Param("vol_z", "float", 2.0, 0, 10, 0.1, "volume z-score at least this", search=(0.5, 4)),
     Param("tr_z", "float", 1.2, 0, 10, 0.1, "true-range z-score at least this",
           search=(0.0, 3)),
     Param("cloc_min", "float", 0.6, 0, 1, 0.05, "close location in the range at least this",
           search=(0.3, 0.9)),
     Param("use_fib_exits", "bool", True, description="exit at the Fibonacci target",
           exit=True),
     Param("use_stop_loss", "bool", False, description="exit at the ATR stop", exit=True),
     Param("use_time_exit", "bool", False, description="exit after max_hold candles",
           exit=True),
     Param("use_traditional_tp", "bool", False, description="exit at reward_r x risk",
           exit=True),
     Param("fib_swing_lookback", "int", 96, 5, 5000, 4, "candles searched for a swing high",
           exit=True, search=(24, 288)),
     Param("fib_swing_lookahead", "int", 5, 1, 100, 1,
           "candles each side a swing high must top (known that many candles later)",
           exit=True, search=(2, 12)),
     Param("fib_target_level", "float", 0.618, 0.1, 1.0, 0.01, "retracement level targeted",
           exit=True, search=(0.236, 1.0)),
     Param("atr_stop_mult", "float", 0.7, 0.1, 10, 0.1, "stop distance below the low, in ATR",
           exit=True, search=(0.3, 3)),
     Param("reward_r", "float", 2.0, 0.1, 20, 0.1, "take-profit in multiples of the risk",
           exit=True, search=(0.5, 5)),
     Param("max_hold", "int", 96, 1, 10000, 4, "time exit (candles)", exit=True,
           search=(12, 384))),
    (Rule(lambda p: bool(p["ema_fast"] < p["ema_slow"]), "ema_fast must be below ema_slow"),
     Rule(lambda p: any(p[k] for k in ("use_fib_exits", "use_stop_loss", "use_time_exit",
                                       "use_traditional_tp")),
          "no exit: enable use_fib_exits, use_stop_loss, use_time_exit or use_traditional_tp"),
     Rule(lambda p: bool(not p["use_traditional_tp"] or p["use_stop_loss"]),
          "use_traditional_tp measures the reward against the stop: enable use_stop_loss")))
_D = SELLER_EXHAUSTION_SCHEMA.defaults()


@dataclass(frozen=True)
class SellerExhaustionParams:
    ema_fast: int = int(_D["ema_fast"])
    ema_slow: int = int(_D["ema_slow"])
    z_window: int = int(_D["z_window"])
    atr_window: int = int(_D["atr_window"])
    vol_z: float = float(_D["vol_z"])
    tr_z: float = float(_D["tr_z"])
    cloc_min: float = float(_D["cloc_min"])
    use_fib_exits: bool = bool(_D["use_fib_exits"])
    use_stop_loss: bool = bool(_D["use_stop_loss"])
    use_time_exit: bool = bool(_D["use_time_exit"])
    use_traditional_tp: bool = bool(_D["use_traditional_tp"])
    fib_swing_lookback: int = int(_D["fib_swing_lookback"])
    fib_swing_lookahead: int = int(_D["fib_swing_lookahead"])
    fib_target_level: float = float(_D["fib_target_level"])
    atr_stop_mult: float = float(_D["atr_stop_mult"])
    reward_r: float = float(_D["reward_r"])
    max_hold: int = int(_D["max_hold"])

    @classmethod
    def of(cls, values: dict[str, ParamValue]) -> SellerExhaustionParams:
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Indicators:
    """Per candle: the entry signal, the exit levels it would set, and ATR."""

    signal: np.ndarray  # bool
    target: np.ndarray  # Fibonacci target (NaN: no swing high above the close)
    stop: np.ndarray  # ATR stop


def indicators(c: CandleArrays, p: SellerExhaustionParams) -> Indicators:
    high, low, close = c.high.astype(float), c.low.astype(float), c.close.astype(float)
    tr, volume = true_range(c), c.volume.astype(float)
    vol_mean, vol_sd = rolling(volume, p.z_window, "mean"), rolling(volume, p.z_window, "std")
    tr_mean, tr_sd = rolling(tr, p.z_window, "mean"), rolling(tr, p.z_window, "std")
    with np.errstate(divide="ignore", invalid="ignore"):
        vol_z = np.where(vol_sd > 0, (c.volume - vol_mean) / vol_sd, np.nan)
        tr_z = np.where(tr_sd > 0, (tr - tr_mean) / tr_sd, np.nan)
        cloc = np.where(high > low, (close - low) / (high - low), 0.5)
    atr = rolling(tr, p.atr_window, "mean")
    target = _fib_targets(high, low, p)
    down = ema(close, p.ema_fast) < ema(close, p.ema_slow)
    signal = down & (vol_z >= p.vol_z) & (tr_z >= p.tr_z) & (cloc >= p.cloc_min)
    if p.use_fib_exits:
        signal &= target > close
    return Indicators(signal, target, low - p.atr_stop_mult * atr)


def _fib_targets(high: np.ndarray, low: np.ndarray, p: SellerExhaustionParams) -> np.ndarray:
    """Per candle t: low[t] + level x (H - low[t]) for the latest swing high H confirmed by t
    (its candle j has the highest high of j - L .. j + L, and j + L <= t) with j within the
    ``fib_swing_lookback`` candles before t."""
    n, look = len(high), p.fib_swing_lookahead
    out = np.full(n, np.nan)
    if n < 2 * look + 1:
        return out
    peak = np.lib.stride_tricks.sliding_window_view(high, 2 * look + 1).max(axis=1)
    swing = np.zeros(n, dtype=bool)
    swing[look:n - look] = high[look:n - look] >= peak
    idx = np.flatnonzero(swing)
    # the swing at j is known from t = j + look: the latest known swing per t
    known = np.full(n, -1)
    known[idx[idx + look < n] + look] = idx[idx + look < n]
    last = np.maximum.accumulate(known)
    t = np.arange(n)
    ok = (last >= 0) & (t - last <= p.fib_swing_lookback)
    h = np.where(ok, high[np.maximum(last, 0)], np.nan)
    out = np.where(ok, low + p.fib_target_level * (h - low), np.nan)
    return out


class SellerExhaustionStrategy:
    """Seed 001's rule on the finest timeframe; ignores the ML gate's mode (not its holds)."""

    name = "seller_exhaustion"
    needs_models = False

    def __init__(self, params: SellerExhaustionParams | None = None) -> None:
        self.p = p = params or SellerExhaustionParams()
        self.hold_limit = HOLD_LIMIT * p.max_hold
        need = max(EMA_SPANS * p.ema_slow, p.z_window, p.atr_window + 1,
                   p.fib_swing_lookback + 2 * p.fib_swing_lookahead + 1)
        self.history = need + self.hold_limit + 1
        self._pre: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, Indicators]] = {}

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        self._pre[(key.symbol, key.timeframe)] = (
            candles.open_time.copy(), candles.close.astype(float), indicators(candles, self.p))

    def _at(self, ctx: Context) -> tuple[np.ndarray, np.ndarray, Indicators, int]:
        """Open times, closes and indicators covering this candle, and its index in them."""
        pre = self._pre.get((ctx.symbol, ctx.timeframe))
        if pre is not None and 0 <= ctx.index < len(pre[0]) and \
                pre[0][ctx.index] == ctx.open_time:
            return pre[0], pre[1], pre[2], ctx.index
        c = ctx.candles
        return c.open_time, c.close.astype(float), indicators(c, self.p), len(c) - 1

    def decide(self, ctx: Context) -> Decision | None:
        if not ctx.finest:
            return None
        times, close, ind, i = self._at(ctx)
        if i + 1 < self.history - self.hold_limit:  # warm-up: the same on both paths
            return None
        if ctx.holding:
            return self._exit(ctx, times, float(close[i]), ind, i)
        if ctx.held or not ind.signal[i]:
            return None
        target = f", target {ind.target[i]:,.4g}" if self.p.use_fib_exits else ""
        return Decision("buy", f"seller_exhaustion: capitulation candle closed "
                               f"{close[i]:,.4g} in a downtrend{target}")

    def _exit(self, ctx: Context, times: np.ndarray, close: float, ind: Indicators, i: int
              ) -> Decision | None:
        if ctx.entry_time is None or ctx.entry_price is None:
            return None
        step = Timeframe.parse(ctx.timeframe).ms
        s = int(np.searchsorted(times, ctx.entry_time - step, side="right")) - 1
        age = i - s  # candles since the signal candle
        if s < 0 or age >= self.hold_limit:
            return Decision("sell", f"seller_exhaustion: the hold limit ({self.hold_limit} "
                                    f"candles) is reached")
        p = self.p
        if p.use_fib_exits and close >= ind.target[s]:
            return Decision("sell", f"seller_exhaustion: Fibonacci target {ind.target[s]:,.4g} "
                                    f"reached ({close:,.4g})")
        stop = float(ind.stop[s])
        if p.use_stop_loss and close <= stop:
            return Decision("sell", f"seller_exhaustion: ATR stop {stop:,.4g} hit "
                                    f"({close:,.4g})")
        if p.use_traditional_tp and ctx.entry_price > stop:
            tp = ctx.entry_price + p.reward_r * (ctx.entry_price - stop)
            if close >= tp:
                return Decision("sell", f"seller_exhaustion: {p.reward_r:g}R take-profit "
                                        f"{tp:,.4g} reached ({close:,.4g})")
        if p.use_time_exit and age >= p.max_hold:
            return Decision("sell", f"seller_exhaustion: time exit after {age} candles")
        return None
