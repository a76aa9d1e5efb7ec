"""Several strategy instances in one engine: each on its own book, one position per symbol
per instance, the account's exposure cap across instances and its halts, paper desks apart."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes import (
    FakeBroker,
    FakeClock,
    ListMarketData,
    MemoryStore,
    ScriptedStrategy,
)
from tests.unit.test_engine_loop import limits as loop_limits
from tradeloop.domain.candles import Candle, CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.domain.errors import EngineError
from tradeloop.domain.gate import Gate
from tradeloop.domain.risk import AccountLimits, AccountRisk, RiskLimits, RiskManager
from tradeloop.domain.signals import Aggregator
from tradeloop.domain.trading import BrokerEvents, OrderRequest, Side
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.desks import Desk
from tradeloop.engine.engine import Engine, EngineConfig
from tradeloop.engine.runner import HALT, Runner

M15 = 900_000
H = 3_600_000
T0 = 1_700_000_000_000 // H * H
SYMBOL = "AAA/USDT"
FINE = SeriesKey("fake", SYMBOL, "15m")
HOURLY = SeriesKey("fake", SYMBOL, "1h")


def limits(**kw: object) -> RiskLimits:
    """The engine loop's test limits, opened up: wide halts, a quarter of the book a trade."""
    return loop_limits(**{"max_drawdown": 0.5, "daily_loss_limit": 0.9,
                          "max_position_fraction": 0.25, "risk_per_trade": 1.0,
                          "stop_loss": 0.5, "take_profit": 10.0,
                          "max_consecutive_losses": 9, **kw})


def bars(prices: list[float], start: int, step: int) -> list[Candle]:
    return [Candle(start + i * step, p, p, p, p, 1.0) for i, p in enumerate(prices)]


def arrays(candles: list[Candle]) -> CandleArrays:
    return CandleArrays(*(np.array([getattr(c, f) for c in candles], dtype=float) for f in
                          ("open_time", "open", "high", "low", "close", "volume")))


def market(prices: list[float]) -> ListMarketData:
    """15m candles at ``prices`` (flat inside each) and the 1h candles they make, each event
    at its close, in time order."""
    fine = bars(prices, T0, M15)
    events: list[tuple[SeriesKey, Candle]] = []
    for i, c in enumerate(fine):
        events.append((FINE, c))
        if (i + 1) % 4 == 0:
            hour = fine[i - 3:i + 1]
            events.append((HOURLY, Candle(hour[0].open_time, hour[0].open,
                                          max(b.high for b in hour), min(b.low for b in hour),
                                          hour[-1].close, 4.0)))
    return ListMarketData({FINE: arrays(bars([100.0] * 4, T0 - 4 * M15, M15)),
                           HOURLY: arrays(bars([100.0], T0 - H, H))}, events)


def engine(main: ScriptedStrategy, account: AccountLimits | None = None,
           main_limits: RiskLimits | None = None) -> tuple[Engine, FakeBroker, MemoryStore]:
    broker, store = FakeBroker(), MemoryStore()
    eng = Engine(EngineConfig([SYMBOL], ["15m", "1h"], {"15m": 1.0, "1h": 1.0}, "fake", 0.7,
                              0.1, 4),
                 CandleBook(), None, broker, RiskManager(main_limits or limits(), broker.cash),
                 Gate(0.7, 0.1, 0), Aggregator({"15m": 1.0, "1h": 1.0}), store,
                 strategy=main,
                 account=AccountRisk(account or AccountLimits(0.5, 0.9, 1.0), broker.cash))
    return eng, broker, store


def desk(eng: Engine, instance: str, strategy: ScriptedStrategy, *, account: bool = True,
         timeframe: str | None = "1h", risk: RiskLimits | None = None) -> Desk:
    broker = FakeBroker()
    return Desk(instance, strategy, broker, RiskManager(risk or limits(), broker.cash),
                eng.store.for_instance(instance), frozenset({SYMBOL}), timeframe, account)


def run(eng: Engine, prices: list[float], add: list[Desk]) -> str:
    runner = Runner(eng, market(prices), FakeClock(T0))
    runner.open()
    for d in add:
        eng.add_desk(d)
    return runner.run().stopped_by


def test_two_instances_hold_the_same_symbol_each_on_its_own_book_and_rows() -> None:
    eng, main_broker, store = engine(ScriptedStrategy({T0 + M15}, {T0 + 5 * M15}))
    other = desk(eng, "ma_cross:AAA/USDT:1h:x", ScriptedStrategy({T0}, {T0 + H}))
    run(eng, [100, 100, 101, 102, 104, 104, 103, 103, 103, 103, 103, 103], [other])
    # the main desk (15m) and the other instance (1h, on its own closes) each bought once
    # and sold once: one position per symbol *per instance*
    assert [str(o.side) for o, _ in store.orders] == ["buy", "sell"]
    view = store.views["ma_cross:AAA/USDT:1h:x"]
    assert [str(o.side) for o, _ in view.orders] == ["buy", "sell"]
    assert len(store.trades) == 1 and len(view.trades) == 1
    # the 1h instance decided on 1h closes only: bought at the first hour's close, filled at
    # the next 1h candle's open (104), sold at the second hour's close, filled at 103
    assert (view.trades[0].entry_price, view.trades[0].exit_price) == (104, 103)
    assert (store.trades[0].entry_price, store.trades[0].exit_price) == (101, 103)
    assert eng.stats.trades == 2 and not main_broker.positions
    assert isinstance(other.strategy, ScriptedStrategy)
    assert HOURLY in other.strategy.preloaded  # indicators precomputed when it was added


def test_the_account_caps_what_all_instances_hold_of_one_symbol() -> None:
    # each desk sizes 25 % of its own 10,000; the account (20,000) allows 20 % in one symbol
    eng, _, store = engine(ScriptedStrategy({T0}), AccountLimits(0.5, 0.9, 0.20))
    other = desk(eng, "b", ScriptedStrategy({T0}))
    run(eng, [100.0] * 8, [other])
    assert [str(o.side) for o, _ in store.orders] == ["buy"]
    refused = store.views["b"].refusals
    assert len(refused) == 1 and "exposure across instances" in refused[0][1]
    assert other.risk.entries_today == 0  # a refused entry does not count toward the day's
    # a paper desk trades a simulated book: not part of the account's exposure
    eng, _, store = engine(ScriptedStrategy({T0}), AccountLimits(0.5, 0.9, 0.20))
    paper = desk(eng, "p", ScriptedStrategy({T0}), account=False)
    run(eng, [100.0] * 8, [paper])
    assert [str(o.side) for o, _ in store.views["p"].orders] == ["buy"]
    assert eng.account_equity() == pytest.approx(10_000.0)


def test_the_account_drawdown_halts_every_instance_and_stops_the_run() -> None:
    # each desk alone loses 6 % (a quarter of its equity in a 24 % fall): within its own 50 %
    # limit, but the account's 5 % limit is breached
    eng, _, store = engine(ScriptedStrategy({T0}), AccountLimits(0.05, 0.9, 1.0))
    other = desk(eng, "b", ScriptedStrategy({T0}), timeframe=None)
    prices = [100.0, 100.0, 76.0, 76.0, 76.0, 76.0, 76.0, 76.0]
    assert run(eng, prices, [other]) == HALT
    assert eng.halted_reason is not None and "account max drawdown" in eng.halted_reason
    assert eng.risk.halted_reason is None
    assert any("account max drawdown" in m for _, m in store.errors)


def test_an_instance_drawdown_halts_that_instance_only() -> None:
    eng, _, store = engine(ScriptedStrategy({T0, T0 + 6 * M15}, {T0 + 5 * M15}))
    other = desk(eng, "b", ScriptedStrategy({T0, T0 + 2 * M15}, {T0 + M15}), timeframe=None,
                 risk=limits(max_drawdown=0.03, max_position_fraction=0.5))
    prices = [100.0, 100.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0]
    assert run(eng, prices, [other]) != HALT
    view = store.views["b"]
    assert other.risk.halted_reason is not None
    # its re-entry after the loss is refused by its own halt; the main desk trades on
    assert any("max drawdown" in r for _, r in view.refusals)
    assert [str(o.side) for o, _ in store.orders] == ["buy", "sell", "buy"]


def test_removing_an_instance_sells_what_it_holds_and_wipe_data_stops_the_others() -> None:
    eng, _, store = engine(ScriptedStrategy(set()))
    other = desk(eng, "b", ScriptedStrategy({T0}), timeframe=None)
    run(eng, [100.0, 100.0, 110.0, 110.0], [other])
    assert SYMBOL in other.broker.positions
    with pytest.raises(EngineError, match="already trading"):
        eng.add_desk(other)
    eng.remove_desk("b", T0 + 4 * M15, "retired")
    assert not other.broker.positions
    assert store.views["b"].trades[0].exit_reason == "retired"
    with pytest.raises(EngineError, match="no strategy instance"):
        eng.remove_desk("b", T0, "retired")
    eng.add_desk(desk(eng, "c", ScriptedStrategy(set())))
    eng.reset(T0 + 5 * M15, frozenset())
    assert [d.instance for d in eng.desks] == ["main"]


def test_an_instance_whose_exit_is_unresolved_stays_closing_until_it_is_flat() -> None:
    class SlowExit(FakeBroker):  # an exchange account: the exit's answer comes later
        def close_all(self, time_ms: int, reason: str) -> BrokerEvents:
            for symbol, pos in self.positions.items():
                self.submit(OrderRequest(f"{pos.client_order_id}-x", symbol, Side.SELL,
                                         pos.quantity, time_ms, reason))
            return BrokerEvents([], [])

        def sync(self, now_ms: int) -> BrokerEvents:  # resolved: filled at the last price
            return self.on_candle(SYMBOL, Candle(now_ms, 110.0, 110.0, 110.0, 110.0, 1.0),
                                  now_ms) if self.has_pending(SYMBOL) else BrokerEvents([], [])

    eng, main_broker, store = engine(ScriptedStrategy(set()))
    other = desk(eng, "b", ScriptedStrategy({T0}), timeframe=None)
    other.broker = SlowExit()
    run(eng, [100.0, 100.0, 110.0], [other])
    assert SYMBOL in other.broker.positions
    assert eng.remove_desk("b", T0 + 3 * M15, "retired") is None  # not flat: it stays
    assert other.closing and eng.desk("b") is other
    eng.heartbeat(T0 + 3 * M15 + 1000)  # the exit's answer: filled
    assert not other.broker.positions and store.views["b"].trades[-1].exit_reason == "retired"
    book = other.broker.cash
    assert book > 10_000.0  # it sold with a gain
    assert eng.remove_desk("b", T0 + 4 * M15, "retired") is other  # flat: removed
    assert [d.instance for d in eng.desks] == ["main"]
    assert main_broker.cash == pytest.approx(10_000.0 + book)  # its cash went back
    assert other.broker.cash == 0.0


def test_funding_a_desk_is_a_transfer_not_a_drawdown_and_the_account_keeps_its_history(
        ) -> None:
    eng, broker, _ = engine(ScriptedStrategy(set()))
    eng.risk.peak_equity = eng.account.peak_equity = 11_000.0  # 9.1 % below the peak
    funded = desk(eng, "b", ScriptedStrategy(set()), timeframe=None)
    funded.broker.cash = 0.0
    funded.risk.reset(0.0)
    eng.add_desk(funded)
    # the account's tracking starts from the main desk's history, not afresh
    assert eng.account.peak_equity == 11_000.0
    assert eng.move_cash(eng.main, funded, 4_500.0) == 4_500.0
    assert broker.cash == 5_500.0 and funded.broker.cash == 4_500.0
    # the main desk's peak scales with its book (11,000 x 5,500 / 10,000), not shifted by
    # 4,500: its drawdown stays 9.1 % and no halt follows
    assert eng.risk.peak_equity == pytest.approx(6_050.0)
    assert eng.risk.on_equity(T0, broker.equity()) is None
    assert funded.risk.peak_equity == 4_500.0
    assert eng.account_equity() == 10_000.0
    eng.remove_desk("b", T0, "retired")  # its cash goes back
    assert broker.cash == 10_000.0


def test_an_instance_that_fails_does_not_stop_the_others() -> None:
    class Broken(ScriptedStrategy):
        def decide(self, ctx: Context) -> Decision | None:
            raise RuntimeError("broken rule")

    eng, _, store = engine(ScriptedStrategy({T0}))
    other = desk(eng, "b", Broken(set()), timeframe=None)
    run(eng, [100.0] * 4, [other])
    assert [str(o.side) for o, _ in store.orders] == ["buy"]  # the main desk traded on
    assert store.views["b"].errors and "broken rule" in store.views["b"].errors[0][1]
    assert not eng.gate.held(SYMBOL)
