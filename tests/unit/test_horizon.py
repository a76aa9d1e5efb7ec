"""One traded event for every timeframe: labels over a shared wall-clock horizon."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.market_data.synthetic import random_walk
from tradeloop.domain.errors import ConfigError, TradeloopError
from tradeloop.domain.horizon import label_plan
from tradeloop.domain.signals import Aggregator, TimeframeSignal
from tradeloop.ml.comparison import hac_mean_test
from tradeloop.ml.dataset import LabelSource, build_samples
from tradeloop.ml.labels import make_labels, returns_from
from tradeloop.settings import load_settings

TFS = ["1m", "5m", "15m", "1h", "4h", "1d"]
HOUR = 3_600_000


def test_every_timeframe_measures_the_same_four_hours() -> None:
    bars = {tf: label_plan(tf, "4h", TFS).bars for tf in TFS}
    assert bars == {"1m": 240, "5m": 48, "15m": 16, "1h": 4, "4h": 1, "1d": 1}
    daily = label_plan("1d", "4h", TFS)
    assert not daily.own and daily.label_timeframe.name == "4h"
    assert label_plan("1h", "4h", ["1h", "1d"]).own
    with pytest.raises(TradeloopError, match="cannot be measured"):
        label_plan("1d", "4h", ["1d"])


def test_labels_read_from_a_finer_series_match_the_hand_computation() -> None:
    hourly = random_walk(24 * 40, seed=3)
    four = hourly.take(slice(3, None, 4))  # closes of 4h candles = every 4th hourly close
    four = type(hourly).from_columns(open_time=hourly.open_time[0::4][:len(four)],
                                     open=four.open, high=four.high, low=four.low,
                                     close=four.close, volume=four.volume)
    daily_t = hourly.open_time[0::24]
    daily_close = hourly.close[23::24]
    fwd = returns_from(daily_t, daily_close, 24 * HOUR, four.open_time, four.close, 4 * HOUR,
                       4 * HOUR)
    # the 4h candle closing 4 hours after the daily close is the one opened at the next 00:00
    expected = np.log(four.close[6::6] / daily_close[:-1])
    assert len(expected) == len(daily_t) - 1 and np.allclose(fwd[:-1], expected)
    assert np.isnan(fwd[-1])  # the future candle is not there yet: unknown, not guessed
    # the own-series path and the other-series path agree where both apply
    via = build_samples(hourly, 4, 0.001, step_ms=HOUR,
                        labels=LabelSource(hourly, HOUR, 4 * HOUR))
    direct = build_samples(hourly, 4, 0.001, step_ms=HOUR)
    assert np.array_equal(via.y, direct.y) and np.allclose(via.fwd_return, direct.fwd_return)
    assert np.array_equal(direct.y, make_labels(hourly.close, 4, 0.001)[0][
        np.isin(hourly.open_time, direct.open_time)])


def test_the_old_horizon_key_gets_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("model: {horizon_bars: 4}\n")
    with pytest.raises(ConfigError, match=r"horizon_bars was replaced by model\.horizon"):
        load_settings(tmp_path / "config.yaml", env={})
    (tmp_path / "config.yaml").write_text(
        "model: {horizon: 4h}\ntimeframes: {intervals: [{interval: 1d, weight: 1}]}\n")
    with pytest.raises(ConfigError, match="cannot be measured"):
        load_settings(tmp_path / "config.yaml", env={})


def test_the_label_series_lines_up_with_the_models_closes() -> None:
    assert label_plan("6h", "4h", ["1h", "4h", "6h"]).label_timeframe.name == "1h"
    with pytest.raises(TradeloopError, match="divides both"):
        label_plan("6h", "4h", ["4h", "6h"])  # 4h candles do not close 4h after 06:00


def test_a_forecast_leaves_the_mix_when_its_event_is_over() -> None:
    day = 24 * HOUR
    agg = Aggregator({"1d": 1.0}, stale_after_bars=1.0, horizon_ms=4 * HOUR)
    agg.update("X", TimeframeSignal("1d", day, 0, (0.2, 0.2, 0.6), "1"))
    assert agg.aggregate("X", day + 3 * HOUR) is not None  # inside the 4h after its close
    assert agg.aggregate("X", day + 5 * HOUR) is None  # its event is over: not 19h more


def test_too_few_rows_for_the_label_overlap_are_no_evidence() -> None:
    rng = np.random.default_rng(0)
    t = hac_mean_test(rng.normal(0.1, 0.01, 400), min_lags=240)  # 400 rows, 240-row labels
    assert t.p_value == 1.0 and t.std_error == float("inf")
