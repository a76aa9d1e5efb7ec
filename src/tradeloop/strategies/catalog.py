"""The strategy library: every strategy by name, with its version, description and typed
parameter schema (``tradeloop strategy list``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tradeloop.domain.errors import ConfigError
from tradeloop.ports import Strategy
from tradeloop.strategies.breakout import (
    BREAKOUT_SCHEMA,
    BreakoutParams,
    BreakoutStrategy,
    DualStrategy,
)
from tradeloop.strategies.classic import CLASSIC
from tradeloop.strategies.ma_cross import MA_CROSS_SCHEMA, MaCrossParams, MaCrossStrategy
from tradeloop.strategies.ml import MlStrategy
from tradeloop.strategies.ml_trend import ML_TREND_SCHEMA, MlTrendStrategy
from tradeloop.strategies.params import ParamSchema, ParamValue
from tradeloop.strategies.seller_exhaustion import (
    SELLER_EXHAUSTION_SCHEMA,
    SellerExhaustionParams,
    SellerExhaustionStrategy,
)


@dataclass(frozen=True)
class StrategySpec:
    """A catalogue entry: how to build the strategy from checked parameter values."""

    name: str
    version: str
    description: str
    schema: ParamSchema
    build: Callable[[dict[str, ParamValue]], Strategy]
    needs_models: bool
    params_key: str = ""  # the trading.params entry it reads (default: its own name)
    title: str = ""  # its name in a strategy file (default: its name)
    file_section: str = ""  # its parameter section there (default: <params key>_params)

    @property
    def key(self) -> str:
        return self.params_key or self.name

    @property
    def file_name(self) -> str:
        return self.title or self.name

    @property
    def section(self) -> str:
        return self.file_section or f"{self.key}_params"


CATALOGUE: dict[str, StrategySpec] = {s.name: s for s in (
    StrategySpec("ml", "1.0.0", "ML: the calibrated multi-timeframe forecast, traded while "
                 "the gate is TRADING (its parameters are the model and continuous_learning "
                 "settings)", ParamSchema(), lambda _: MlStrategy(), True),
    StrategySpec("breakout", "1.0.0", "Breakout rule: close above the defining range with RSI "
                 "and volume filters", BREAKOUT_SCHEMA,
                 lambda p: BreakoutStrategy(BreakoutParams(**p)), False),  # type: ignore[arg-type]
    StrategySpec("ml+breakout", "1.0.0", "Dual confirmation: a breakout entry only while ML "
                 "is TRADING and up", BREAKOUT_SCHEMA,
                 lambda p: DualStrategy(BreakoutParams(**p)), True,  # type: ignore[arg-type]
                 params_key="breakout"),
    StrategySpec("ma_cross", "1.0.0", "Moving-average cross: long while SMA(fast) is above "
                 "SMA(slow)", MA_CROSS_SCHEMA,
                 lambda p: MaCrossStrategy(MaCrossParams(**p)), False),  # type: ignore[arg-type]
    StrategySpec("seller_exhaustion", "1.0.0", "Seller Exhaustion (seed 001): the capitulation "
                 "candle of a downtrend (volume and range spikes, close near the high), exits "
                 "at a Fibonacci retracement target, ATR stop, R take-profit or time",
                 SELLER_EXHAUSTION_SCHEMA,
                 lambda p: SellerExhaustionStrategy(SellerExhaustionParams.of(p)), False,
                 title="Seller Exhaustion", file_section="seller_params"),
    *(StrategySpec(cls.name, "1.0.0", f"{cls.name.replace('_', ' ').capitalize()} (seed 000): "
                   f"{' '.join((cls.__doc__ or '').replace('``', '').split())}", cls.schema,
                   cls, False)
      for cls in CLASSIC),
    StrategySpec("ml_trend", "1.0.0", "ML trend following (seed 000): the ML forecast's "
                 "entries only while EMA(fast) is above EMA(slow) on the finest timeframe; "
                 "out on the ML exit or when the trend turns", ML_TREND_SCHEMA,
                 MlTrendStrategy, True),
)}
STRATEGIES: dict[str, str] = {name: spec.description for name, spec in CATALOGUE.items()}


def spec_of(name: str) -> StrategySpec:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ConfigError(f"unknown strategy {name!r}; choose one of "
                          f"{', '.join(CATALOGUE)}") from None


def spec_by_file_name(name: str) -> StrategySpec:
    for spec in CATALOGUE.values():
        if name in (spec.file_name, spec.name):
            return spec
    raise ConfigError(f"unknown strategy {name!r}; the library has "
                      f"{', '.join(s.file_name for s in CATALOGUE.values())}")


def make_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """The named strategy with ``params`` (checked against its schema; defaults for the
    rest)."""
    spec = spec_of(name)
    return spec.build(spec.schema.resolve(params, f"strategy {name!r}"))
