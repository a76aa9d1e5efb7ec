"""Live-vs-replay parity: a paper session against the loopback fake Binance on a simulated
clock, then ``tradeloop parity`` replays its stored candles with the model that served it
and finds every prediction and order identical; a tampered record is found and explained."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.fake_exchange import ExchangeClock, FakeExchange, paper_session
from tradeloop.adapters.market_data.synthetic import planted_signal
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.app import open_store
from tradeloop.app.retrain_jobs import retrain_runner
from tradeloop.cli import main as cli
from tradeloop.domain.candles import SeriesKey
from tradeloop.ml.training_job import train_series
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
H = 3_600_000
KEY = SeriesKey("binance", "BTC/USDT", "1h")
CANDLES = planted_signal(1800, seed=4)
STORED, START_AT, STOP_AT = 1500, 1520, 1760

CONFIG = """
symbols: [BTC/USDT]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
exchange: {name: binance, base_url: 'URL', timeout_seconds: 2}
continuous_learning:
  confidence: {trading_threshold: 0.6, hysteresis: 0.05, min_dwell_minutes: 0}
  retraining: {max_epochs: 4, patience: 2, on_loss: false}
model: {horizon: 1h, fee_bps: 0, slippage_bps: 0, min_samples: 300, max_train_candles: 1200}
risk: {max_consecutive_losses: 1000}
"""


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        fake.add_candles("BTC/USDT", "1h", CANDLES)
        yield fake


def test_a_paper_session_replays_identically(tmp_path: Path, fx: FakeExchange,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG.replace("URL", fx.url))
    settings = load_settings(tmp_path / "config.yaml", env={})
    store = open_store(settings)
    store.candles.write(KEY, CANDLES.take(slice(0, STORED)))
    models = settings.path(settings.paths.models_dir)
    train_series(settings, store.candles, LocalRegistry(models), "BTC/USDT", "1h")
    clock = ExchangeClock(int(CANDLES.open_time[START_AT]) + 30_000, fx, H)
    runner = retrain_runner(settings, models, wait=False)
    session = paper_session(settings, store, ["BTC/USDT"], clock, runner)
    res = session.run(stop=lambda: clock.now > int(CANDLES.open_time[STOP_AT]))
    assert res.engine.main.orders > 2  # the planted signal opens the gate: it traded
    deployment = res.deployment_id

    assert cli(["--config", str(tmp_path / "config.yaml"), "parity", "--deployment",
                str(deployment)]) == 0
    out = capsys.readouterr().out
    assert "live and replay agree" in out
    report = json.loads(next((tmp_path / "production_reports").glob("parity_*.json"))
                        .read_text())
    assert report["identical"] and report["first_divergence"] is None
    assert report["predictions"]["share"] == report["orders"]["share"] == 1.0
    assert report["predictions"]["live"] == res.engine.stats.predictions > 200
    assert report["orders"]["live"] == report["orders"]["replay"] >= res.engine.main.orders
    assert report["transitions"]["matched"] == report["transitions"]["live"] > 0

    # a record that does not match its candles is found, with its cause
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE predictions SET p_up = p_up + 0.01 WHERE id = "
                          "(SELECT MIN(id) + 10 FROM predictions)"))
    assert cli(["--config", str(tmp_path / "config.yaml"), "parity", "--deployment",
                str(deployment)]) == 4
    assert "same model, different output" in capsys.readouterr().out
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT identical, predictions, predictions_matched FROM "
                                 "parity_reports ORDER BY id")).all()
    assert [bool(r[0]) for r in rows] == [True, False]
    assert rows[1][2] == rows[1][1] - 1
    store.close()


def test_parity_of_an_unknown_deployment_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.yaml").write_text("symbols: [BTC/USDT]\n")
    assert cli(["--config", str(tmp_path / "config.yaml"), "parity", "--deployment",
                "42"]) == 1
    assert "no deployment 42" in capsys.readouterr().err
