"""The kill test: a testnet session against the loopback fake exchange (real ccxt client,
5 % random faults including lost order answers) is killed with SIGKILL at random points 20
times and restarted each time; a last run ends normally. Afterwards the exchange and the
database agree: no client order id was executed twice, every order on the exchange is on
record with its true outcome, and what the account holds is exactly the open positions on
record (none lost, none invented)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from tests.support.fake_exchange import FakeExchange
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.adapters.store.monitor_queries import collect
from tradeloop.adapters.store.schema import (
    DeploymentRow,
    HealthCheckRow,
    OrderRow,
    PositionRow,
)
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "tlkill-key-0123456789", "tlkill-secret-0123456789"
SPEED = 60.0  # a 1m candle closes every second
KILLS = int(os.environ.get("TRADELOOP_KILLS", "20"))
CONFIG = """
symbols: [BTC/USDT]
timeframes: {{intervals: [{{interval: 1m, weight: 1.0}}]}}
exchange: {{name: binance, base_url: '{url}', timeout_seconds: 1.0, max_retries: 2,
           circuit_breaker_failures: 8, circuit_breaker_cooldown_seconds: 20}}
continuous_learning:
  confidence: {{trading_threshold: 0.6, hysteresis: 0.05, min_dwell_minutes: 0}}
  retraining: {{on_loss: false}}
risk: {{max_drawdown_percent: 90, daily_loss_limit: 0.9, max_consecutive_losses: 1000,
       max_position_size_percent: 0.2}}
deployment: {{snapshot_seconds: 60, health: {{interval_minutes: 600}}}}
"""


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange(api_key=KEY, balances={"USDT": 10_000.0}, seed=7) as ex:
        yield ex


def start(root: Path, t0: int, wall0: float, seconds: float, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EXCHANGE_API_KEY": KEY, "EXCHANGE_API_SECRET": SECRET,
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.kill_child", str(root), str(t0), str(wall0),
         str(SPEED), str(seconds)], cwd=ROOT, env=env, stdout=log.open("ab"),
        stderr=subprocess.STDOUT)


def test_twenty_sigkills_lose_and_duplicate_nothing(tmp_path: Path, fx: FakeExchange) -> None:
    rng = random.Random(20)
    t0 = 1_735_689_600_000  # 2025-01-01
    candles, _ = synth_market(2.0, timeframe="1m", seed=5, start_ms=t0 - 86_400_000,
                              start_price=30_000.0)
    fx.add_candles("BTC/USDT", "1m", candles)
    wall0 = time.time()
    fx.clock = lambda: t0 + int((time.time() - wall0) * 1000 * SPEED)
    fx.timeout_delay = 1.2  # past the client's 1 s timeout: the answer is lost
    fx.fault_rate = 0.05
    fx.fault_kinds = ("429", "500", "503", "timeout", "reset", "lost", "lost", "lost")
    (tmp_path / "config.yaml").write_text(CONFIG.format(url=fx.url))
    log = tmp_path / "runs.log"
    for i in range(KILLS):
        starts = log.read_text().count("session started") if log.exists() else 0
        proc = start(tmp_path, t0, wall0, 3600, log)
        if i % 4 == 3:  # now and then during start-up (imports, recovery, reconciliation)
            time.sleep(rng.uniform(0.3, 3.0))
        else:  # else after a few candles of trading
            deadline = time.monotonic() + 60
            while log.read_text().count("session started") == starts:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.05)
            time.sleep(rng.uniform(0.5, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    fx.fault_rate = 0.0
    last = start(tmp_path, t0, wall0, 6.0, log)  # reconciles, trades a little, stops
    assert last.wait(timeout=120) == 0, log.read_text()[-3000:]

    db = create_engine(f"sqlite:///{tmp_path / 'data' / 'trading.db'}")
    with db.connect() as conn:
        orders = {r.client_order_id: r for r in conn.execute(select(OrderRow.__table__))}
        positions = list(conn.execute(select(PositionRow.__table__)))
        deployments = list(conn.execute(select(DeploymentRow.__table__).order_by(DeploymentRow.id)))
    crashed = sum(d.status == "crashed" for d in deployments)
    assert [d.status for d in deployments][-1] == "completed"
    assert len(deployments) == crashed + 1  # every killed run that had started is "crashed"
    assert KILLS // 2 <= crashed <= KILLS  # (a kill during start-up may precede the row)
    assert len(fx.orders) >= 10, "the runs placed too few orders to mean anything"

    assert fx.duplicate_client_ids() == {}  # 0 duplicate orders
    for o in fx.orders.values():  # every order on the exchange is on record, as it ended
        row = orders.get(o["clientOrderId"])
        assert row is not None, f"{o['clientOrderId']} is on the exchange, not in the database"
        expected = {"FILLED": ("filled",), "CANCELED": ("canceled",), "NEW": ("open",)}
        assert row.status in expected[o["status"]], (o, row)
        if o["status"] == "FILLED":
            assert row.filled_quantity == pytest.approx(float(o["executedQty"]))
    on_exchange = {o["clientOrderId"] for o in fx.orders.values()}
    for cid, row in orders.items():  # nothing on record as filled that never was
        if row.status == "filled":
            assert cid in on_exchange, f"{cid} recorded as filled, unknown to the exchange"
        assert row.status not in ("submitted", "sent"), f"{cid} left unresolved"

    open_rows = [p for p in positions if p.status == "open"]
    assert len(open_rows) <= 1  # one position per symbol
    held = fx.balances.get("BTC", 0.0)
    assert held == pytest.approx(sum(p.quantity for p in open_rows), abs=1e-9)  # 0 lost
    entries = {p.entry_client_order_id for p in positions}
    buys = [o for o in fx.orders.values() if o["side"] == "BUY" and o["status"] == "FILLED"]
    assert all(o["clientOrderId"] in entries for o in buys)  # each fill opened a position
    settings = load_settings(tmp_path / "config.yaml", env={})
    view = collect(settings, db, hours=24)  # the monitor's view of the last run
    ex = view.data["exchange"]
    assert ex["requests"] > 0 and ex["limit_per_minute"] == 600 and ex["circuit"] == "closed"
    assert 0 < ex["cache_hit_rate"] <= 1 and ex["max_requests_per_minute"] <= 601
    with db.connect() as conn:
        checks = {r[0] for r in conn.execute(select(HealthCheckRow.check_name).where(
            HealthCheckRow.deployment_id == view.data["system"]["deployment_id"]))}
    assert "api_error_rate" in checks
    text = log.read_text()
    restored = text.count("reconciliation: restored open position")
    resolved = text.count("resolving by its client order id")
    assert restored >= 3, "too few restarts found a position open to mean anything"
    print(f"\n{len(fx.orders)} orders on the exchange, {len(positions)} positions, "
          f"{restored} restarts restored an open position, {resolved} orders resolved by "
          f"client id at a restart, faults injected: {fx.injected}")
