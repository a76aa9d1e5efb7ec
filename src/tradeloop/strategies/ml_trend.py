"""ML trend following (seed 000): the ML strategy's entries only in an uptrend of the finest
timeframe (EMA ``ema_fast`` above EMA ``ema_slow``); a long closes on the ML exit or when the
trend turns. EMAs are truncated (``indicators.ema``), so the values precomputed at
preload and the ones computed from the live window agree exactly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.strategies.indicators import EMA_SPANS, ema
from tradeloop.strategies.ml import MlStrategy
from tradeloop.strategies.params import Param, ParamSchema, Rule

ML_TREND_SCHEMA = ParamSchema(
    (Param("ema_fast", "int", 24, 2, 5000, 1, "fast EMA span", search=(6, 96)),
     Param("ema_slow", "int", 96, 3, 10000, 1, "slow EMA span: uptrend is fast > slow",
           search=(48, 480))),
    (Rule(lambda p: bool(p["ema_fast"] < p["ema_slow"]), "ema_fast must be below ema_slow"),))


class MlTrendStrategy:
    """The ML forecast traded with the trend only."""

    name = "ml_trend"
    needs_models = True

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.p = ML_TREND_SCHEMA.resolve(params, f"strategy {self.name!r}")
        self.ml = MlStrategy()
        self.history = EMA_SPANS * int(self.p["ema_slow"])
        self._pre: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def _trend(self, c: CandleArrays) -> np.ndarray:
        close = c.close.astype(float)
        return np.asarray(ema(close, int(self.p["ema_fast"])) >
                          ema(close, int(self.p["ema_slow"])))

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        self._pre[(key.symbol, key.timeframe)] = (candles.open_time.copy(),
                                                  self._trend(candles))

    def _up(self, ctx: Context) -> bool:
        pre = self._pre.get((ctx.symbol, ctx.timeframe))
        if pre is not None and 0 <= ctx.index < len(pre[0]) and \
                pre[0][ctx.index] == ctx.open_time:
            return bool(pre[1][ctx.index])
        trend = self._trend(ctx.candles)
        return bool(trend[-1]) if len(trend) >= self.history else False

    def decide(self, ctx: Context) -> Decision | None:
        ml = self.ml.decide(ctx)
        if ctx.holding:
            if ml is not None:
                return ml
            if ctx.finest and not self._up(ctx):
                return Decision("sell", "ml_trend: the uptrend ended (EMA fast <= slow)")
            return None
        if ml is not None and ml.action == "buy" and ctx.finest and self._up(ctx):
            return Decision("buy", f"ml_trend: {ml.reason.removeprefix('ml: ')} in an uptrend")
        return None
