"""A pinned golden backtest: two rule strategies on a fixed window of real candles (BTC/USDT and
ETH/USDT 1h, Q1 2024, default risk rules: sizing by risk, stops, targets, loss pauses) must
give exactly the trade list in ``tests/fixtures/golden_backtest.json``. Any change of
behaviour shows up here, in review. After an intended change, rewrite the fixture with
``TRADELOOP_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/acceptance/test_golden_backtest.py``
and explain the difference in the commit."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tradeloop.app import open_store
from tradeloop.app.backtests import run_backtest
from tradeloop.app.data_tools import csv_files
from tradeloop.cli.common import parse_date_ms
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "golden_backtest.json"
FROM, TO = "2024-01-01", "2024-04-01"
CONFIG = """
exchange: {name: binance}
symbols: [BTC/USDT, ETH/USDT]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
trading: {strategy: STRATEGY}
"""


def _trades(shared_data: Path, root: Path, strategy: str) -> list[list[object]]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(CONFIG.replace("STRATEGY", strategy))
    settings = load_settings(root / "config.yaml", env={})
    store = open_store(settings)
    try:
        for sym in ("BTC_USDT", "ETH_USDT"):
            csv_files.import_file(store.candles, shared_data / f"binance_{sym}_1h.csv",
                                  now_ms=2**62)
        res = run_backtest(settings, store, ["BTC/USDT", "ETH/USDT"], parse_date_ms(FROM),
                           parse_date_ms(TO), files=False)
    finally:
        store.close()
    return [[t.symbol, t.entry_time_ms, t.exit_time_ms, repr(t.entry_price),
             repr(t.exit_price), repr(t.quantity), t.exit_reason]
            for t, _ in res.engine.trades]


def test_golden_backtest(shared_data: Path, tmp_path: Path) -> None:
    got = {s: _trades(shared_data, tmp_path / s, s) for s in ("ma_cross", "breakout")}
    digest = hashlib.sha256(json.dumps(got, sort_keys=True).encode()).hexdigest()
    if os.environ.get("TRADELOOP_UPDATE_GOLDEN") == "1":
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps({"window": [FROM, TO], "sha256": digest,
                                       "trades": got}, indent=1) + "\n")
    expected = json.loads(FIXTURE.read_text())
    assert all(len(v) > 5 for v in got.values())  # both strategies traded
    for strategy, trades in expected["trades"].items():
        assert got[strategy] == trades, strategy
    assert digest == expected["sha256"]
