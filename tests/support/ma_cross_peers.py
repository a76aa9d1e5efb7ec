"""One moving-average-cross rule run three ways on the same candles: ``tradeloop backtest``'s
engine (the one runner), backtesting.py and vectorbt — for the cross-check test and for
``benchmarks/bench_backtest.py``.

How the three are matched:
- Signals: long when SMA(fast) crosses above SMA(slow) on a closed bar (strictly below on
  the previous bar, strictly above on this one: backtesting.py's ``crossover``), flat on the
  opposite cross; the SMAs are the same numpy function in all three.
- Fills: at the next bar's open (backtesting.py's default ``trade_on_close=False``;
  vectorbt's signals shifted one bar with ``price=open``); fee = commission on each side's
  notional, no slippage.
- Sizing: all the cash. Our risk manager is opened up (risk per trade and position size
  100 %, a stop and a target that cannot be reached) so it buys cash / (price x (1 + fee));
  backtesting.py buys whole units, so the account is large (1e9) to make that rounding
  negligible.
- The end: a position still open at the last bar is sold at its close (our engine's end of
  run; backtesting.py's ``finalize_trades=True``; vectorbt values it at the last close).
- History: the store holds only the window, so no one has warm-up bars the others lack.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradeloop.app import open_store
from tradeloop.app.backtests import run_backtest
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.settings import Settings, load_settings
from tradeloop.strategies.ma_cross import sma

FAST, SLOW = 10, 30
FEE_BPS = 10.0
CASH = 1e9
CONFIG = f"""
exchange: {{name: binance}}
symbols: [BTC/USDT]
timeframes: {{intervals: [{{interval: 1h, weight: 1.0}}]}}
trading:
  strategy: ma_cross
  params: {{ma_cross: {{fast: {FAST}, slow: {SLOW}}}}}
  initial_balance: {CASH}
  fee_bps: {FEE_BPS}
  slippage_bps: 0
risk:
  max_drawdown_percent: 100
  daily_loss_limit: 1.0
  max_position_size_percent: 1.0
  risk_per_trade: 1.0
  stop_loss_percent: 99
  take_profit_percent: 1000000
  max_consecutive_losses: 1000000
  max_open_positions: 1
"""
KEY = SeriesKey("binance", "BTC/USDT", "1h")


@dataclass
class Run:
    entries: list[tuple[int, float]]  # (fill time ms, price)
    exits: list[tuple[int, float]]
    total_return: float  # fraction
    seconds: float
    bars: int

    @property
    def bars_per_s(self) -> float:
        return self.bars / self.seconds if self.seconds > 0 else float("inf")


def load_year(csv: Path, start: str, end: str) -> CandleArrays:
    frame = pd.read_csv(csv)
    lo = int(pd.Timestamp(start, tz="UTC").timestamp() * 1000)
    hi = int(pd.Timestamp(end, tz="UTC").timestamp() * 1000)
    frame = frame[(frame.timestamp >= lo) & (frame.timestamp < hi)]
    return CandleArrays(frame.timestamp.to_numpy(np.int64), *(
        frame[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")))


def project(root: Path, candles: CandleArrays) -> Settings:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(CONFIG)
    settings = load_settings(root / "config.yaml", env={})
    store = open_store(settings)
    store.candles.write(KEY, candles)
    store.close()
    return settings


def ours(settings: Settings, candles: CandleArrays) -> Run:
    store = open_store(settings)
    try:
        start = int(candles.open_time[0])
        end = int(candles.open_time[-1]) + 3_600_000
        res = run_backtest(settings, store, ["BTC/USDT"], start, end, files=False)
    finally:
        store.close()
    trades = [t for t, _ in res.engine.trades]
    return Run([(t.entry_time_ms, t.entry_price) for t in trades],
               [(t.exit_time_ms, t.exit_price) for t in trades],
               res.performance.total_return, res.replay_seconds, res.events)


def frame_of(candles: CandleArrays) -> pd.DataFrame:
    index = pd.to_datetime(candles.open_time, unit="ms", utc=True)
    return pd.DataFrame({"Open": candles.open, "High": candles.high, "Low": candles.low,
                         "Close": candles.close, "Volume": candles.volume}, index=index)


def backtesting_py(candles: CandleArrays) -> Run:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self) -> None:
            if not self.position and crossover(self.fast, self.slow):
                self.buy()
            elif self.position and crossover(self.slow, self.fast):
                self.position.close()

    bt = Backtest(frame_of(candles), SmaCross, cash=CASH, commission=FEE_BPS / 10_000,
                  finalize_trades=True)
    began = time.perf_counter()
    stats = bt.run()
    seconds = time.perf_counter() - began
    tr = stats["_trades"]
    ms = lambda ts: int(pd.Timestamp(ts).timestamp() * 1000)  # noqa: E731
    return Run([(ms(t), float(p)) for t, p in zip(tr.EntryTime, tr.EntryPrice, strict=True)],
               [(ms(t), float(p)) for t, p in zip(tr.ExitTime, tr.ExitPrice, strict=True)],
               float(stats["Return [%]"]) / 100, seconds, len(candles))


def vectorbt_run(candles: CandleArrays) -> Run:
    import vectorbt as vbt

    frame = frame_of(candles)
    fast, slow = sma(candles.close, FAST), sma(candles.close, SLOW)
    prev_fast, prev_slow = np.roll(fast, 1), np.roll(slow, 1)
    up = (prev_fast < prev_slow) & (fast > slow)
    down = (prev_fast > prev_slow) & (fast < slow)
    up[0] = down[0] = False
    began = time.perf_counter()
    pf = vbt.Portfolio.from_signals(
        frame.Close, entries=pd.Series(up, frame.index).shift(1, fill_value=False),
        exits=pd.Series(down, frame.index).shift(1, fill_value=False), price=frame.Open,
        fees=FEE_BPS / 10_000, init_cash=CASH, freq="1h")
    total = float(pf.total_return())
    seconds = time.perf_counter() - began
    rec: Any = pf.trades.records_readable
    ms = lambda ts: int(pd.Timestamp(ts).timestamp() * 1000)  # noqa: E731
    return Run([(ms(t), float(p)) for t, p in zip(rec["Entry Timestamp"], rec["Avg Entry Price"],
                                                   strict=True)],
               [(ms(t), float(p)) for t, p in zip(rec["Exit Timestamp"], rec["Avg Exit Price"],
                                                   strict=True)],
               total, seconds, len(candles))
