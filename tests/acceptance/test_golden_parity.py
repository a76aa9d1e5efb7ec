"""Golden parity: ``tradeloop backtest`` and a phase-1 ``deploy_production.py --replay`` over
the same window and settings go through the one runner and give identical predictions,
orders, trades, mode changes and retrains (the deployment's hooks — snapshots, health checks,
the control channel — change nothing the engine decides)."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tradeloop.adapters.market_data.synthetic import planted_signal
from tradeloop.app import open_store
from tradeloop.cli import main as cli
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.series import resample
from tradeloop.domain.timeframes import Timeframe
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
exchange: {name: synthetic}
symbols: [SIG/USDT]
timeframes: {intervals: [{interval: 1h, weight: 0.7}, {interval: 4h, weight: 0.3}]}
continuous_learning:
  confidence: {trading_threshold: 0.55, hysteresis: 0.04, min_dwell_minutes: 0}
  retraining: {max_epochs: 5, patience: 2, min_interval_hours: 72, on_loss: true}
model: {horizon: 1h, fee_bps: 0, slippage_bps: 0, min_samples: 300, max_train_candles: 1500}
risk: {max_consecutive_losses: 1000, max_drawdown_percent: 60}
deployment: {validation: {min_criteria: 1}}
"""
FROM, TO = "2024-03-10", "2024-03-24"

QUERIES = {
    "predictions": "SELECT symbol, timeframe, candle_time, direction, p_down, p_flat, p_up, "
                   "model_version FROM predictions WHERE deployment_id = :d ORDER BY id",
    "orders": "SELECT created_at, symbol, side, quantity, status, reason FROM orders "
              "WHERE deployment_id = :d ORDER BY id",
    "trades": "SELECT symbol, entry_time, exit_time, entry_price, exit_price, quantity, "
              "pnl_absolute, exit_reason FROM trade_outcomes WHERE deployment_id = :d "
              "ORDER BY id",
    "transitions": "SELECT timestamp, symbol, mode, reason FROM learning_states "
                   "WHERE deployment_id = :d ORDER BY id",
    "retrains": "SELECT symbol, timeframe, trigger_reason, triggered_at, promoted, "
                "model_version FROM retraining_history WHERE deployment_id = :d AND "
                "trigger_reason != 'initial' ORDER BY id",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("golden")
    (root / "config.yaml").write_text(CONFIG)
    store = open_store(load_settings(root / "config.yaml", env={}))
    candles = planted_signal(3800, seed=8, start_ms=1_697_932_800_000)  # to 2024-03-28
    store.candles.write(SeriesKey("synthetic", "SIG/USDT", "1h"), candles)
    store.candles.write(SeriesKey("synthetic", "SIG/USDT", "4h"),
                        resample(candles, Timeframe.parse("1h"), Timeframe.parse("4h")))
    store.close()
    return root


def _records(root: Path, deployment_id: int) -> dict[str, list[Any]]:
    store = open_store(load_settings(root / "config.yaml", env={}))
    try:
        with store.engine.connect() as conn:
            return {name: [tuple(r) for r in conn.execute(text(sql), {"d": deployment_id})]
                    for name, sql in QUERIES.items()}
    finally:
        store.close()


def test_backtest_and_rehearsed_phase_are_identical(project: Path) -> None:
    cfg = str(project / "config.yaml")
    assert cli(["--config", cfg, "backtest", "--symbols", "SIG/USDT", "--from", FROM,
                "--to", TO]) == 0
    deploy = runpy.run_path(str(ROOT / "deploy_production.py"), run_name="entry")["main"]
    with contextlib.redirect_stdout(io.StringIO()):
        code = deploy(["--config", cfg, "--phase", "1", "--symbol", "SIG/USDT", "--replay",
                       "--from", FROM, "--to", TO])
    assert code in (0, 3)  # APPROVED or REJECTED: the verdict is whatever was measured
    store = open_store(load_settings(project / "config.yaml", env={}))
    with store.engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT phase, id FROM deployments")).all())
    store.close()
    backtest, rehearsal = _records(project, ids[0]), _records(project, ids[1])
    for name in QUERIES:
        assert backtest[name] == rehearsal[name], name
    assert len(backtest["predictions"]) > 400
    assert len(backtest["trades"]) > 3
    assert any(mode == "TRADING" for _, _, mode, _ in backtest["transitions"])
    assert backtest["retrains"], "losses trigger retrains in both"
