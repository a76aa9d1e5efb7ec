"""A desk: one strategy instance trading inside a session (strategy + parameters + symbols +
timeframe), with its own broker (its share of the account, or a paper book), risk limits and
store rows tagged with its id."""

from __future__ import annotations

from dataclasses import dataclass, field

from tradeloop.domain.risk import RiskManager
from tradeloop.domain.trading import MAIN_INSTANCE
from tradeloop.ports import Broker, Store, Strategy

MAIN = MAIN_INSTANCE  # the session's own strategy (the configured one; the operator can switch)


@dataclass
class Desk:
    """One strategy instance of the engine.

    ``symbols``: what it trades (None: every symbol of the session); ``timeframe``: the series
    it decides on and whose candles move its book (None: each symbol's finest, as the main
    desk); ``account``: whether its broker holds the account's capital (its equity counts in
    the account's drawdown and daily-loss halts and its holdings in the per-symbol exposure
    cap) — a paper desk trades a simulated book and does not."""

    instance: str
    strategy: Strategy
    broker: Broker
    risk: RiskManager
    store: Store
    symbols: frozenset[str] | None = None
    timeframe: str | None = None
    account: bool = True
    last_refusal: dict[str, str] = field(default_factory=dict)
    orders: int = 0  # submitted by this desk (the engine's stats count every desk's)
    closing: bool = False  # being stopped: no new decisions, its exit followed up

    def trades(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols

    def book_timeframe(self, finest: str) -> str:
        """The timeframe whose closes move this desk's book and trigger its rule."""
        return self.timeframe or finest
