"""Credentials never leak: a testnet session runs with a recognisable fake API key and secret
against the fake exchange, which echoes the key back in error messages (as a misconfigured
proxy would); then training (MLflow), the monitor's report, the dashboard's export and
``config show`` run with the same environment. Every byte of every artefact -- logs, the
database, reports, MLflow's store, exports and console output -- is searched for the key and
the secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.fake_exchange import FakeExchange
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.adapters.store import dashboard_queries as dd
from tradeloop.adapters.store.monitor_queries import collect
from tradeloop.app import open_store
from tradeloop.domain.candles import SeriesKey
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
KEY = "TLFAKEKEY-7f3a9c21d4e5b6a8"
SECRET = "TLFAKESECRET-0c1d2e3f4a5b6c7d"
SPEED = 60.0
CONFIG = """
symbols: [BTC/USDT]
timeframes: {{intervals: [{{interval: 1m, weight: 1.0}}]}}
exchange: {{name: binance, base_url: '{url}', timeout_seconds: 1.0, max_retries: 1}}
continuous_learning:
  confidence: {{trading_threshold: 0.6, hysteresis: 0.05, min_dwell_minutes: 0}}
  retraining: {{on_loss: false, max_epochs: 2}}
model: {{horizon: 1m}}
risk: {{max_drawdown_percent: 90, daily_loss_limit: 0.9, max_consecutive_losses: 1000}}
deployment: {{snapshot_seconds: 60, health: {{interval_minutes: 600}}}}
"""


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange(api_key=KEY, balances={"USDT": 10_000.0}) as ex:
        yield ex


def run(args: list[str], root: Path, out: Path) -> None:
    env = {**os.environ, "EXCHANGE_API_KEY": KEY, "EXCHANGE_API_SECRET": SECRET,
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "MLFLOW_DISABLE_TELEMETRY": "true"}
    with out.open("ab") as fh:
        code = subprocess.run([sys.executable, *args], cwd=root, env=env, stdout=fh,
                              stderr=subprocess.STDOUT, timeout=300).returncode
    assert code == 0, out.read_text()[-3000:]


def test_keys_appear_in_no_artefact(tmp_path: Path, fx: FakeExchange) -> None:
    t0 = 1_735_689_600_000
    candles, _ = synth_market(2.0, timeframe="1m", seed=9, start_ms=t0 - 86_400_000,
                              start_price=30_000.0)
    fx.add_candles("BTC/USDT", "1m", candles)
    wall0 = time.time()
    fx.clock = lambda: t0 + int((time.time() - wall0) * 1000 * SPEED)
    # the start-up balance passes; later refreshes and the first order get the key echoed
    fx.path_faults["/account"] = deque(["pass", "echo_key", "echo_key"])
    fx.order_faults.append("echo_key")
    (tmp_path / "config.yaml").write_text(CONFIG.format(url=fx.url))
    store = open_store(load_settings(tmp_path / "config.yaml", env={}))
    store.candles.write(SeriesKey("binance", "BTC/USDT", "1m"),
                        candles.take(candles.open_time < t0))  # a day of history to train on
    store.close()
    console = tmp_path / "console.txt"
    run(["-m", "tests.support.kill_child", str(tmp_path), str(t0), str(wall0), str(SPEED),
         "8"], tmp_path, console)
    assert fx.injected.get("echo_key") == 3, "the key was not echoed: the test proves nothing"
    run(["-m", "tradeloop", "train", "--symbol", "BTC/USDT", "--interval", "1m"], tmp_path,
        console)
    run([str(ROOT / "monitor_production.py"), "--report", "--hours", "48"], tmp_path, console)
    run(["-m", "tradeloop", "config", "show"], tmp_path, console)

    env = {"EXCHANGE_API_KEY": KEY, "EXCHANGE_API_SECRET": SECRET}
    settings = load_settings(tmp_path / "config.yaml", env=env)
    db = create_engine(settings.database_url)
    view = collect(settings, db, hours=48)
    (tmp_path / "export.json").write_bytes(dd.export_report(view))
    with db.connect() as conn:
        masked = {r[0] for r in conn.execute(text(
            "SELECT error_type FROM error_log WHERE message LIKE '%***%'"))}
        assert masked == {"OrderAnswerLost", "BalanceRefresh"}  # reached the records, masked
    assert "***" in (tmp_path / "logs" / "engine.log").read_text()

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and any("mlruns" in p.parts for p in files)
    assert any("production_reports" in p.parts for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in (KEY, SECRET):
            assert secret.encode() not in data, f"{secret[:8]}... found in {path}"
    report = json.loads((tmp_path / "export.json").read_text())
    assert report["system"]
