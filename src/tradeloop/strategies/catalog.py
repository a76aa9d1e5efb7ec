"""The strategies an operator can choose from, by name."""

from __future__ import annotations

from tradeloop.domain.errors import ConfigError
from tradeloop.ports import Strategy
from tradeloop.strategies.breakout import BreakoutParams, BreakoutStrategy, DualStrategy
from tradeloop.strategies.ma_cross import MaCrossParams, MaCrossStrategy
from tradeloop.strategies.ml import MlStrategy

STRATEGIES: dict[str, str] = {
    "ml": "ML: the calibrated multi-timeframe forecast, traded while the gate is TRADING",
    "breakout": "Breakout rule: close above the defining range with RSI and volume filters",
    "ml+breakout": "Dual confirmation: a breakout entry only while ML is TRADING and up",
    "ma_cross": "Moving-average cross: long while SMA(fast) is above SMA(slow)",
}


def make_strategy(name: str, params: BreakoutParams | None = None,
                  ma_cross: MaCrossParams | None = None) -> Strategy:
    if name == "ml":
        return MlStrategy()
    if name == "breakout":
        return BreakoutStrategy(params)
    if name == "ml+breakout":
        return DualStrategy(params)
    if name == "ma_cross":
        return MaCrossStrategy(ma_cross)
    raise ConfigError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
