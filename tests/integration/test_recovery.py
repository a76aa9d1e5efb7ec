"""Start-up recovery of a paper account after a crash: deployments left running are marked
crashed, open positions are carried over (paid from the new account's cash, stops kept) and
orders that were never filled are given up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, select

from tradeloop.adapters.broker.sim import SimBroker
from tradeloop.adapters.store import database
from tradeloop.adapters.store.deployments import Deployments
from tradeloop.adapters.store.schema import DeploymentRow, OrderRow, PositionRow
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.app.recovery import PaperRecovery
from tradeloop.domain.candles import Candle
from tradeloop.domain.timestamps import ts
from tradeloop.domain.trading import Fill, OrderRequest, Side

T0 = 1_700_000_000_000


def test_a_crashed_paper_run_leaves_nothing_behind(tmp_path: Path) -> None:
    db = database.make_engine(f"sqlite:///{tmp_path / 'trading.db'}")
    database.upgrade(db)
    with db.begin() as conn:
        conn.execute(insert(DeploymentRow).values(phase=0, symbols="BTC/USDT,ETH/USDT",
                                                  mode="paper", status="running",
                                                  started_at=ts(T0)))
    crashed = TradingStore(db, "paper", 1)
    buy = OrderRequest("tl-paper-d1-a-1", "BTC/USDT", Side.BUY, 0.1, T0, "signal", 29_000.0,
                       32_000.0)
    crashed.order(buy, "submitted", T0)
    crashed.fill(Fill(buy.client_order_id, "BTC/USDT", Side.BUY, 0.1, 30_000.0, 3.0, T0),
                 29_000.0, 32_000.0)
    pending = OrderRequest("tl-paper-d1-a-2", "ETH/USDT", Side.BUY, 1.0, T0, "signal")
    crashed.order(pending, "submitted", T0)  # the process died before the next candle

    with db.begin() as conn:
        conn.execute(insert(DeploymentRow).values(phase=0, symbols="BTC/USDT,ETH/USDT",
                                                  mode="paper", status="running",
                                                  started_at=ts(T0 + 60_000)))
    store = TradingStore(db, "paper", 2)
    broker = SimBroker(10_000.0, 10.0, 0.0)
    assert Deployments(db).mark_crashed(2) == [1]
    recover = PaperRecovery(db, broker, store, "paper", ["BTC/USDT", "ETH/USDT"], 2)
    events = recover(broker, T0 + 60_000)
    assert not events.fills
    pos = broker.positions["BTC/USDT"]
    assert (pos.quantity, pos.stop_loss) == (0.1, 29_000.0)
    assert broker.cash == pytest.approx(10_000.0 - 0.1 * 30_000.0 - 3.0)
    with db.connect() as conn:
        status = dict(conn.execute(select(DeploymentRow.id, DeploymentRow.status)).all())
        orders = dict(conn.execute(select(OrderRow.client_order_id, OrderRow.status)).all())
    assert status == {1: "crashed", 2: "running"}
    assert orders == {"tl-paper-d1-a-1": "filled", "tl-paper-d1-a-2": "canceled"}
    # the carried-over position closes on its stop like any other, in its original row
    result = broker.on_candle("BTC/USDT", Candle(T0 + 60_000, 29_500, 29_600, 28_800, 28_900,
                                                 1.0), T0 + 120_000)
    (trade, _), = result.closed
    store.trade(trade, "1m", "1")
    assert trade.exit_reason == "stop_loss"
    with db.connect() as conn:
        rows = conn.execute(select(PositionRow.deployment_id, PositionRow.status)).all()
    assert rows == [(1, "closed")]
