"""A backtest on real BTC/USDT candles from ../shared/data, end to end and deterministic."""

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from tradeloop.adapters.market_data.csv_files import import_file, read_csv
from tradeloop.app import open_store
from tradeloop.cli import main as cli
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CONFIG = """
symbols: [BTC/USDT]
timeframes: {intervals: [{interval: 1h, weight: 0.6}, {interval: 4h, weight: 0.4}]}
continuous_learning:
  confidence: {trading_threshold: 0.52, hysteresis: 0.02, min_dwell_minutes: 0}
  retraining: {max_epochs: 8, patience: 2, min_interval_hours: 24}
model: {max_train_candles: 4000, min_samples: 500}
"""


@pytest.fixture(scope="module")
def project(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real")
    (root / "config.yaml").write_text(CONFIG)
    store = open_store(load_settings(root / "config.yaml", env={}))
    for name in ("binance_BTC_USDT_1h.csv", "binance_BTC_USDT_4h.csv"):
        import_file(store.candles, shared_data / name, now_ms=2**62)
    store.close()
    return root


def run(project: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert cli(["--config", str(project / "config.yaml"), "backtest", "--symbols", "BTC/USDT",
                "--from", "2024-03-01", "--to", "2024-03-15", "--retrain-every", "7d"]) == 0
    out = capsys.readouterr().out
    assert "total return" in out and "buy and hold" in out
    return Path(out.split("trades, equity curve and metrics: ")[1].split()[0])


def test_real_backtest_end_to_end_and_deterministic(
    project: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run(project, capsys)
    second = run(project, capsys)
    for name in ("trades.csv", "equity.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    metrics = json.loads((first / "metrics.json").read_text())
    candles = read_csv(shared_data / "binance_BTC_USDT_1h.csv").candles
    a, b = np.searchsorted(candles.open_time, [1709251200000, 1710460800000])  # Mar 1, Mar 15
    hold = candles.close[b - 1] / candles.open[a] - 1.0  # independent buy-and-hold
    assert metrics["metrics"]["buy_and_hold_return"] == pytest.approx(hold, rel=1e-9)
    assert metrics["retraining"]["retrains"] >= 2  # 1h and 4h, scheduled after 7 days
    assert metrics["engine"]["events"] == 14 * 24 + 14 * 6
    engine = open_store(load_settings(project / "config.yaml", env={})).engine
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT status, report_path FROM deployments")).all()
        reasons = {r for (r,) in conn.execute(text(
            "SELECT DISTINCT trigger_reason FROM retraining_history"))}
        n_conf = conn.execute(text("SELECT COUNT(*) FROM confidence_history")).scalar()
    assert [s for s, _ in runs] == ["completed", "completed"]
    assert {"initial", "scheduled"} <= reasons
    assert n_conf == 2 * metrics["engine"]["decisions"]
