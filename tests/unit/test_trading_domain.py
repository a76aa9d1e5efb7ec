"""Aggregator, gate, risk rules and performance metrics (pure domain)."""

import math

import numpy as np
import pytest

from tradeloop.domain.gate import Gate, Mode
from tradeloop.domain.performance import evaluate, max_drawdown
from tradeloop.domain.risk import RiskLimits, RiskManager
from tradeloop.domain.signals import Aggregator, TimeframeSignal
from tradeloop.domain.trading import ClosedTrade

H = 3_600_000
MIN = 60_000


def sig(tf: str, tf_ms: int, t: int, p: tuple[float, float, float]) -> TimeframeSignal:
    return TimeframeSignal(tf, tf_ms, t, p, "1")


def test_aggregator_weights_and_expiry() -> None:
    agg = Aggregator({"1h": 0.75, "4h": 0.25}, stale_after_bars=1.0)
    agg.update("BTC/USDT", sig("1h", H, 0, (0.1, 0.1, 0.8)))
    agg.update("BTC/USDT", sig("4h", 4 * H, 0, (0.6, 0.2, 0.2)))
    a = agg.aggregate("BTC/USDT", now_ms=H)
    assert a is not None and a.direction == "up" and a.timeframes == 2
    assert a.probabilities == pytest.approx((0.225, 0.125, 0.65))
    b = agg.aggregate("BTC/USDT", now_ms=2 * H + 1)  # the 1h forecast is stale now
    assert b is not None and b.direction == "down" and b.confidence == pytest.approx(0.6)
    assert agg.aggregate("BTC/USDT", now_ms=8 * H + 1) is None
    assert agg.aggregate("ETH/USDT", now_ms=0) is None


def test_gate_hysteresis_dwell_and_holds() -> None:
    g = Gate(threshold=0.6, hysteresis=0.05, min_dwell_ms=15 * MIN)
    assert g.mode("X") is Mode.LEARNING
    assert g.observe("X", 0.7, now_ms=5 * MIN) is None  # dwell not yet reached
    t = g.observe("X", 0.61, now_ms=15 * MIN)
    assert t is not None and t.mode is Mode.TRADING and "61.00% >= 60.00%" in t.reason
    assert g.observe("X", 0.56, now_ms=40 * MIN) is None  # inside the hysteresis band
    t = g.observe("X", 0.54, now_ms=41 * MIN)
    assert t is not None and t.mode is Mode.LEARNING
    g.observe("X", 0.9, now_ms=60 * MIN)
    assert g.mode("X") is Mode.TRADING
    t = g.hold("X", "retraining", now_ms=61 * MIN)  # forced at once, dwell or not
    assert t is not None and t.mode is Mode.LEARNING and t.reason == "retraining"
    assert g.observe("X", 0.99, now_ms=200 * MIN) is None  # held
    assert g.held("X") and not g.held("X", models=False)  # a rule strategy trades on
    g.hold("X", "operator pause", now_ms=202 * MIN)
    assert g.held("X", models=False)  # ... but not through a pause
    g.release("X", "operator pause")
    g.release("X", "retraining")
    assert g.observe("X", 0.99, now_ms=201 * MIN) is not None
    with pytest.raises(ValueError):
        Gate(0.5, 0.5, 0)


def limits(**kw: object) -> RiskLimits:
    base = dict(max_drawdown=0.15, daily_loss_limit=0.05, max_position_fraction=0.10,
                risk_per_trade=0.01, max_open_positions=2, stop_loss=0.02, take_profit=0.04,
                max_consecutive_losses=2, loss_pause_ms=60 * MIN, blacklist=frozenset({"BAD/USDT"}),
                blocked_hours=frozenset({3}))
    base.update(kw)
    return RiskLimits(**base)  # type: ignore[arg-type]


def test_risk_sizing_and_each_refusal() -> None:
    rm = RiskManager(limits(), initial_equity=10_000)
    rm.on_equity(0, 10_000)
    ok = rm.check_entry("BTC/USDT", 100.0, 0, 10_000, 10_000, set(), 0.001)
    # risk sizing: 1 % of 10k over a 2 % stop = 50 units = 5,000 notional > 10 % cap -> 10 units
    assert ok.approved and ok.quantity == pytest.approx(10.0)
    assert ok.stop_loss == pytest.approx(98.0) and ok.take_profit == pytest.approx(104.0)
    assert "blacklisted" in rm.check_entry("BAD/USDT", 1, 0, 10_000, 10_000, set(), 0).reason
    assert "03:00 UTC is a blocked hour" in rm.check_entry(
        "BTC/USDT", 100, 3 * H, 10_000, 10_000, set(), 0).reason
    assert "one position per symbol" in rm.check_entry(
        "BTC/USDT", 100, 0, 10_000, 10_000, {"BTC/USDT"}, 0).reason
    assert "2 positions open (max 2)" in rm.check_entry(
        "BTC/USDT", 100, 0, 10_000, 10_000, {"A/USDT", "B/USDT"}, 0).reason
    assert "daily loss 6.00% >= 5.00%" in rm.check_entry(
        "BTC/USDT", 100, H, 9_400, 9_400, set(), 0).reason
    rm.on_equity(86_400_000, 9_400)  # a new day resets the daily limit
    assert rm.check_entry("BTC/USDT", 100, 86_400_000, 9_400, 9_400, set(), 0).approved
    rm.on_trade_closed(False, 86_400_000)
    rm.on_trade_closed(False, 86_400_000 + MIN)
    paused = rm.check_entry("BTC/USDT", 100, 86_400_000 + 2 * MIN, 9_400, 9_400, set(), 0)
    assert not paused.approved and "2 consecutive losses: paused for 59 more minutes" in \
        paused.reason
    assert rm.check_entry("BTC/USDT", 100, 86_400_000 + 62 * MIN, 9_400, 9_400, set(), 0).approved
    assert "no cash" in rm.check_entry("BTC/USDT", 100, 86_400_000 + 62 * MIN, 9_400, 0.0,
                                       set(), 0).reason
    assert rm.on_equity(86_400_000 + H, 8_400) is not None  # 16 % below the 10k peak
    halted = rm.check_entry("BTC/USDT", 100, 86_400_000 + 2 * H, 8_400, 8_400, set(), 0)
    assert not halted.approved and "max drawdown 16.00% >= 15.00% limit" in halted.reason


def test_max_daily_trades_counts_approved_entries_per_utc_day() -> None:
    from dataclasses import replace

    rm = RiskManager(replace(limits(), max_daily_trades=2), initial_equity=10_000)
    rm.on_equity(0, 10_000)
    assert rm.check_entry("A/USDT", 100, 0, 10_000, 10_000, set(), 0).approved
    assert not rm.check_entry("BAD/USDT", 100, H, 10_000, 10_000, set(), 0).approved
    assert rm.check_entry("B/USDT", 100, 2 * H, 10_000, 10_000, set(), 0).approved
    third = rm.check_entry("C/USDT", 100, 4 * H, 10_000, 10_000, set(), 0)
    assert not third.approved and third.reason == "2 entries today (max 2): no new entries today"
    assert rm.check_entry("C/USDT", 100, 86_400_000, 10_000, 10_000, set(), 0).approved


def trade(entry: int, exit_: int, pnl: float) -> ClosedTrade:
    return ClosedTrade("X", 1.0, 100.0, 100.0 + pnl, entry, exit_, 0.0, pnl, pnl / 100, "t", 0.7)


def test_performance_against_hand_calculation() -> None:
    day = 86_400_000
    times = np.array([0, day, 2 * day, 3 * day, 4 * day])
    equity = np.array([100.0, 110.0, 99.0, 108.9, 121.0])
    trades = [trade(0, day, 10.0), trade(day, 2 * day, -11.0), trade(3 * day, 4 * day, 12.1)]
    p = evaluate(times, equity, trades, risks=[2.0, 2.0, 2.0], buy_and_hold_return=0.05)
    r = np.array([0.1, -0.1, 0.1, 121.0 / 108.9 - 1])
    assert p.total_return == pytest.approx(0.21)
    assert p.cagr is None  # four days: no annualised growth
    assert p.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(365.25))
    # one convention: downside deviation with the same n - 1 as the standard deviation
    assert p.sortino == pytest.approx(r.mean() / math.sqrt(0.01 / 3) * math.sqrt(365.25))
    assert p.max_drawdown == pytest.approx(0.1)
    assert p.win_rate == pytest.approx(2 / 3)
    assert p.profit_factor == pytest.approx(22.1 / 11.0)
    assert p.average_r == pytest.approx((5.0 - 5.5 + 6.05) / 3)
    assert p.exposure == pytest.approx(0.75)
    assert p.trades == 3 and p.buy_and_hold_return == 0.05
    assert max_drawdown(np.array([1.0, 2.0, 1.0, 3.0])) == pytest.approx(0.5)
    empty = evaluate(times, np.full(5, 100.0), [], [], 0.0)
    assert empty.win_rate is None and empty.profit_factor is None and empty.sharpe != empty.sharpe


def test_metrics_edge_cases_are_said_as_they_are() -> None:
    day = 86_400_000
    times = np.arange(0, 41 * day, day)
    equity = np.linspace(100.0, 120.0, len(times))
    winners = [trade(-5 * day, 3 * day, 5.0), trade(2 * day, 50 * day, 15.0)]
    p = evaluate(times, equity, winners, [1.0, 1.0], 0.0, candle_drawdown=0.07)
    assert p.profit_factor == math.inf and p.as_dict()["profit_factor"] == "inf"
    assert p.exposure == pytest.approx(1.0)  # spans clipped to the window: never above 1
    assert p.max_drawdown == pytest.approx(0.07)  # the halt's per-candle trough counts
    assert p.cagr == pytest.approx(1.2 ** (365.25 / 40) - 1)  # 40 days: annualised
