"""The README's research workflow end to end on real candles: ADA/USDT 15m resampled from the
shared 5m file, Seller Exhaustion optimised (walk-forward, deflated Sharpe, PBO), the best
trial exported as seed 001's strategy file, validated, imported, selected by name, and
paper-traded through the real ccxt client against the loopback fake exchange, where it
decides exactly as a backtest of the same candles does."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.fake_exchange import ExchangeClock, FakeExchange, paper_session
from tradeloop.app import open_store
from tradeloop.app.backtests import run_backtest
from tradeloop.app.retrain_jobs import retrain_runner
from tradeloop.app.strategy_files import settings_for_file
from tradeloop.cli import main as cli
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.series import resample
from tradeloop.domain.timeframes import Timeframe
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

Q = 900_000  # 15 minutes
CUT = "1764547200000"  # 2025-12-01: the project holds candles before it, the exchange after
PAPER_BARS = 3 * 96  # three days of 15m candles paper-traded
CONFIG = """
symbols: [ADA/USDT]
timeframes: {intervals: [{interval: 15m, weight: 1.0}]}
exchange: {name: binance, base_url: 'URL', timeout_seconds: 2}
risk: {max_consecutive_losses: 1000}
"""


def cut_file(shared_data: Path, target: Path) -> Path:
    """The shared ADA/USDT 5m candles before CUT (the rest arrive from the exchange)."""
    src = shared_data / "binance_ADA_USDT_5m.csv.gz"
    with gzip.open(src, "rt") as f, gzip.open(target, "wt") as out:
        for line in f:
            if line[0].isdigit() and line.split(",", 1)[0] >= CUT:
                break
            out.write(line)
    return target


def test_the_research_workflow_of_the_readme(shared_data: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    five = cut_file(shared_data, tmp_path / "binance_ADA_USDT_5m.csv.gz")
    with FakeExchange() as fx:
        cfg = tmp_path / "config.yaml"
        cfg.write_text(CONFIG.replace("URL", fx.url))
        c = ["--config", str(cfg)]
        assert cli([*c, "data", "import", str(five)]) == 0
        assert cli([*c, "data", "resample", "--symbol", "ADA/USDT", "--source", "5m",
                    "--to", "15m"]) == 0
        assert cli([*c, "strategy", "list"]) == 0
        assert "seller_exhaustion" in capsys.readouterr().out
        assert cli([*c, "optimize", "--strategy", "seller_exhaustion", "--symbol", "ADA/USDT",
                    "--timeframe", "15m", "--from", "2025-03-01", "--to", "2025-09-01",
                    "--trials", "16", "--min-trades", "5", "--no-mlflow"]) == 0
        out = capsys.readouterr().out
        assert "deflated Sharpe ratio: P(true Sharpe > 0 | 16 trials)" in out
        assert "probability of backtest overfitting" in out
        study = re.search(r"--study (\S+)", out)
        assert study is not None
        file = tmp_path / "strategy.json"
        assert cli([*c, "strategy", "export", "seller_exhaustion", "--study", study[1],
                    "--symbol", "ADA/USDT", "--timeframe", "15m", "--to", str(file)]) == 0
        doc = json.loads(file.read_text())
        assert doc["version"] == "2.1.0" and doc["strategy_name"] == "Seller Exhaustion"
        assert doc["backtest_metrics"]["trials"] == 16
        assert 0 <= doc["backtest_metrics"]["pbo"] <= 1
        assert cli([*c, "strategy", "validate", str(file)]) == 0
        assert "✅ Configuration valid" in capsys.readouterr().out
        assert cli([*c, "strategy", "import", str(file)]) == 0
        assert "file:strategy.json" in capsys.readouterr().out
        imported = tmp_path / "strategies" / "strategy.json"

        # the exchange: the real candles from CUT on, resampled as the project did
        settings = settings_for_file(load_settings(cfg, env={}), imported)
        store = open_store(settings)
        full = resample(load_five(shared_data), Timeframe.parse("5m"), Timeframe.parse("15m"))
        key = SeriesKey("binance", "ADA/USDT", "15m")
        stored = store.candles.load(key)
        start = int(stored.open_time[-1]) + Q
        fx.add_candles("ADA/USDT", "15m", full)

        # three days of paper trading the file, on simulated time
        clock = ExchangeClock(start + Q, fx, Q)
        runner = retrain_runner(settings, None, wait=False)
        session = paper_session(settings, store, ["ADA/USDT"], clock, runner)
        end = start + PAPER_BARS * Q
        res = session.run(stop=lambda: clock.now > end + 2 * Q)
        runner.close()
        assert res.engine.strategy.name == "seller_exhaustion"
        assert res.engine.risk.limits.max_open_positions == \
            doc["risk_management"]["max_open_positions"]
        assert res.engine.stats.events >= PAPER_BARS and res.engine.stats.errors == 0
        paper = [(t.entry_time_ms, t.exit_time_ms, t.exit_reason)
                 for t, _ in res.engine.trades if t.exit_time_ms <= end]

        # the same candles replayed: the same decisions
        replay = run_backtest(settings, store, ["ADA/USDT"], start, end, files=False,
                              record=False)
        store.close()

        # and `tradeloop run --mode paper --strategy-file` starts trading the file
        capsys.readouterr()
        assert cli([*c, "run", "--mode", "paper", "--strategy-file", str(imported),
                    "--duration", "0.02m"]) == 0
        assert "Paper session started: ADA/USDT on 15m, strategy seller_exhaustion" in \
            capsys.readouterr().err
    assert paper  # it traded (a losing trade starts a retraining: it holds only the models)
    assert [(t.entry_time_ms, t.exit_time_ms, t.exit_reason)
            for t, _ in replay.engine.trades] == paper


def load_five(shared_data: Path) -> CandleArrays:
    f = pd.read_csv(shared_data / "binance_ADA_USDT_5m.csv.gz")
    return CandleArrays.from_columns(
        open_time=f["timestamp"].to_numpy(np.int64), open=f["open"].to_numpy(),
        high=f["high"].to_numpy(), low=f["low"].to_numpy(), close=f["close"].to_numpy(),
        volume=f["volume"].to_numpy())
