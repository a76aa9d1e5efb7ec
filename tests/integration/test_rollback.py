"""Rollback: automatic on a max-drawdown breach (a synthetic crash), and from a second
process with `deploy_production.py --rollback` while a deployment runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from tests.fakes import ScriptedPredictor
from tradeloop.adapters.clock import SimClock
from tradeloop.adapters.market_data.csv_files import import_file
from tradeloop.app import notifier_for, open_store
from tradeloop.app.feeds import replay_feed
from tradeloop.app.rollout import conclude
from tradeloop.app.sessions import make_session
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.retraining import RetrainJob, RetrainResult
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
H = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01
CRASH_AT = 1_700
CONFIG = """
symbols: [BTC/USDT]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
exchange: {name: synthetic}
continuous_learning:
  confidence: {trading_threshold: 0.6, hysteresis: 0.05, min_dwell_minutes: 0}
  retraining: {on_loss: false}
risk: {max_drawdown_percent: 10, max_position_size_percent: 1.0, risk_per_trade: 1.0,
       stop_loss_percent: 50, take_profit_percent: 500, daily_loss_limit: 1.0}
trading: {fee_bps: 0, slippage_bps: 0}
"""


class IdleRunner:
    """A retrain runner that is never asked (no triggers in this test)."""

    def submit(self, job: RetrainJob) -> None:
        raise AssertionError(f"unexpected retrain {job}")

    def poll(self) -> list[tuple[RetrainJob, RetrainResult]]:
        return []

    def run(self, job: RetrainJob) -> RetrainResult:
        raise AssertionError(f"unexpected training {job}")

    def close(self, *, wait: bool = True) -> None:
        return None


def crash_market(n: int = 2_000) -> CandleArrays:
    """Flat around 100, then a 40 % gap down at CRASH_AT that never recovers."""
    close = 100.0 + 0.1 * np.sin(np.arange(n))
    close[CRASH_AT:] *= 0.6
    open_ = np.concatenate([[100.0], close[:-1]])
    return CandleArrays.from_columns(
        open_time=T0 + np.arange(n, dtype=np.int64) * H, open=open_, close=close,
        high=np.maximum(open_, close) * 1.001, low=np.minimum(open_, close) * 0.999,
        volume=np.full(n, 10.0))


def test_drawdown_breach_rolls_back(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG)
    settings = load_settings(tmp_path / "config.yaml", env={})
    store = open_store(settings)
    key = SeriesKey("synthetic", "BTC/USDT", "1h")
    store.candles.write(key, crash_market())
    start, end = T0 + 1_600 * H, T0 + 1_990 * H
    clock = SimClock(start)
    notifier = notifier_for(settings, store.engine, clock)
    session = make_session(settings, store, ["BTC/USDT"], mode="replay", clock=clock,
                      feed=replay_feed(store, clock, settings, start, end),
                      runner=IdleRunner(), notifier=notifier,
                      predictor=ScriptedPredictor(lambda s, tf, t: (0.05, 0.05, 0.9)), phase=1)
    res = session.run(end - start)
    assert res.status == "rolled_back" and res.stopped_by == "rollback"
    assert res.rollback_reason is not None and "max drawdown" in res.rollback_reason
    assert res.ended_ms == T0 + (CRASH_AT + 1) * H  # stopped on the crash candle's close
    with store.engine.connect() as conn:
        def q(sql: str) -> list[tuple[object, ...]]:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
        assert q("SELECT status FROM deployments") == [("rolled_back",)]
        assert q("SELECT COUNT(*) FROM positions WHERE status = 'open'") == [(0,)]
        (reason, pnl), = q("SELECT exit_reason, pnl_absolute FROM trade_outcomes")
        assert reason == "rollback" and float(pnl) < -900  # type: ignore[arg-type]
        alerts = [m for s, m in q("SELECT severity, message FROM alerts") if s == "critical"]
        assert any(m.startswith("Max drawdown halt") for m in alerts)  # type: ignore[union-attr]
        assert any(m.startswith("Deployment rolled back") for m in alerts)  # type: ignore[union-attr]
        assert q("SELECT COUNT(*) FROM error_log WHERE error_type = 'MaxDrawdown'") == [(1,)]
        # history is kept: candles, predictions, snapshots
        assert q("SELECT COUNT(*) FROM candles")[0][0] == 2_000
        assert q("SELECT COUNT(*) FROM predictions")[0][0] == CRASH_AT - 1_600 + 1
        assert q("SELECT COUNT(*) FROM equity_history")[0][0] > 100 * 60
    outcome = conclude(settings, store, res.deployment_id, lambda _: None)
    dd = next(c for c in outcome.validation.criteria if c.name == "max_drawdown")
    assert not dd.passed and dd.value > 10
    store.close()


def test_rollback_from_a_second_process(shared_data: Path, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "symbols: [BTC/USDT]\n"
        "timeframes: {intervals: [{interval: 1h, weight: 0.6}, {interval: 4h, weight: 0.4}]}\n"
        "continuous_learning: {retraining: {max_epochs: 3, patience: 1}}\n"
        "model: {max_train_candles: 2000, min_samples: 500}\n")
    store = open_store(load_settings(tmp_path / "config.yaml", env={}))
    for tf in ("1h", "4h"):
        import_file(store.candles, shared_data / f"binance_BTC_USDT_{tf}.csv", now_ms=2**62)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(ROOT / "deploy_production.py"), "--config",
           str(tmp_path / "config.yaml")]
    # a year of replay: far longer than the test waits
    deploy = subprocess.Popen([*cmd, "--phase", "1", "--replay", "--from", "2023-01-01",
                               "--to", "2024-01-01"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with store.engine.connect() as conn:
                running = conn.execute(text("SELECT COUNT(*) FROM equity_history")).scalar()
            if running:
                break
            assert deploy.poll() is None, deploy.communicate()[0]
            time.sleep(0.5)
        else:
            pytest.fail("the deployment did not start within 120 s")
        rb = subprocess.run([*cmd, "--rollback"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=180)
        out, _ = deploy.communicate(timeout=120)
    finally:
        if deploy.poll() is None:
            deploy.kill()
    assert rb.returncode == 0, rb.stdout + rb.stderr
    for line in ("INITIATING ROLLBACK", "Stopping continuous learning system",
                 "Closing all open positions...", "✓ Rollback complete. System stopped.",
                 "Data preserved in database for analysis."):
        assert line in rb.stdout
    assert deploy.returncode == 4, out
    assert "was rolled back: operator rollback" in out
    with store.engine.connect() as conn:
        (status, ended), = conn.execute(text("SELECT status, ended_at FROM deployments")).all()
        cmds = conn.execute(text("SELECT command, status FROM control_commands")).all()
        open_pos = conn.execute(text("SELECT COUNT(*) FROM positions WHERE status = 'open'")
                                ).scalar()
    assert status == "rolled_back" and str(ended) < "2024-01-01"
    assert [tuple(c) for c in cmds] == [("rollback", "done")] and open_pos == 0
    store.close()
