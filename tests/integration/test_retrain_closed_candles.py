"""Retrains at a time inside a candle see only the candles closed by then (no future OHLC)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import MemoryCandles, MemoryRegistry
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ml.promotion import retrain
from tradeloop.ml.training_job import train_series
from tradeloop.settings import Settings, load_settings

CONFIG = """
exchange: {name: synthetic}
symbols: [SYN/USDT]
continuous_learning: {retraining: {max_epochs: 2, patience: 1}}
model: {min_samples: 400, max_train_candles: 1500}
"""
HOUR = 3_600_000


class LoadLog(MemoryCandles):
    """MemoryCandles that records the end bound of every read."""

    def __init__(self, series: dict[SeriesKey, CandleArrays]) -> None:
        super().__init__(series)
        self.ends: list[int | None] = []

    def load(self, key: SeriesKey, start_ms: int | None = None, end_ms: int | None = None
             ) -> CandleArrays:
        self.ends.append(end_ms)
        return super().load(key, start_ms, end_ms)


@pytest.fixture
def market(tmp_path: Path) -> tuple[Settings, LoadLog, CandleArrays]:
    (tmp_path / "config.yaml").write_text(CONFIG)
    candles, _ = synth_market(120, timeframe="1h", seed=5)
    reader = LoadLog({SeriesKey("synthetic", "SYN/USDT", "1h"): candles})
    return load_settings(tmp_path / "config.yaml", env={}), reader, candles


def test_closed_by_excludes_the_candle_still_open() -> None:
    h1 = Timeframe.parse("1h")
    until = 13 * HOUR + 5 * 60_000  # 13:05: the 13:00 candle is open, 12:00 closed at 13:00
    assert h1.closed_by(until) <= 13 * HOUR < h1.closed_by(until) + h1.ms
    assert h1.closed_by(until) > 12 * HOUR and h1.closed_by(14 * HOUR) == 13 * HOUR + 1


def test_a_retrain_inside_a_candle_never_loads_it(market: tuple[Settings, LoadLog, CandleArrays]
                                                  ) -> None:
    settings, reader, candles = market
    open_13 = int(candles.open_time[2000])
    until = open_13 + 5 * 60_000  # a loss at "13:05" retrains the 1h model
    summary = train_series(settings, reader, MemoryRegistry(), "SYN/USDT", "1h",
                           until_ms=until)
    assert summary.data_to == open_13 - HOUR  # the 12:00 candle, closed at 13:00
    assert int(summary.outcome.history[0]["epoch"]) == 1

    # a promotion decision at the same moment: the challenger's training and the scoring
    # of both models read nothing that had not closed by `until`
    registry = MemoryRegistry()
    first = retrain(settings, reader, registry, "SYN/USDT", "1h", until - 300 * HOUR)
    assert first.promoted and first.error is None
    reader.ends.clear()
    second = retrain(settings, reader, registry, "SYN/USDT", "1h", until)
    assert second.error is None and reader.ends
    assert all(end is not None and end + HOUR <= until + 1 for end in reader.ends), reader.ends
    # the decision is a paired test, recorded with the result and on the challenger's run
    assert second.p_value is not None and second.compared_samples is not None
    assert second.compared_samples >= 100 and "p = " in second.reason
    run_id, metrics = registry.promotions[-1]
    assert run_id == second.run_id and metrics["promotion_p_value"] == second.p_value
