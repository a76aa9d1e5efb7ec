"""`tradeloop wipe`: refused without --yes; with it, the trading state and the live
graduation pipeline are cleared and the candles kept (the next session starts the pipeline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from tradeloop.adapters.store.graduation_records import LIVE, GraduationRecords
from tradeloop.adapters.store.schema import TradeOutcomeRow
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.app import open_store
from tradeloop.cli import main as cli
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.trading import ClosedTrade
from tradeloop.lifecycle.catalogue import candidate
from tradeloop.lifecycle.pipeline import Pipeline
from tradeloop.settings import load_settings

T = 1_750_000_000_000


def test_wipe_needs_yes_then_clears_trades_and_the_live_pipeline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("symbols: [BTC/USDT]\n")
    settings = load_settings(cfg, env={})
    handle = open_store(settings)
    key = SeriesKey("binance", "BTC/USDT", "1h")
    handle.candles.write(key, CandleArrays.from_columns(
        open_time=T + np.arange(3, dtype=np.int64) * 3_600_000, open=np.full(3, 100.0),
        high=np.full(3, 101.0), low=np.full(3, 99.0), close=np.full(3, 100.0),
        volume=np.ones(3)))
    TradingStore(handle.engine, "paper", 1).for_instance("x").trade(ClosedTrade(
        "BTC/USDT", 1.0, 100.0, 101.0, T, T + 1, 0.0, 1.0, 0.01, "signal", 0.6), "1h", None)
    pipe = Pipeline(settings.graduation)
    inst = pipe.add(candidate("ma_cross", "BTC/USDT", "1h"), T)
    assert inst is not None
    GraduationRecords(handle.engine, LIVE).save([inst], [], [], T, 10_000.0)
    assert cli(["--config", str(cfg), "wipe"]) != 0
    refused = capsys.readouterr()
    assert "again with --yes" in refused.err + refused.out
    with handle.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TradeOutcomeRow)).scalar_one() == 1
    assert cli(["--config", str(cfg), "wipe", "--yes"]) == 0
    assert "Wipe Data: done" in capsys.readouterr().out
    with handle.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TradeOutcomeRow)).scalar_one() == 0
    assert GraduationRecords(handle.engine, LIVE).status() == []
    assert handle.candles.count(key) == 3
    handle.close()
