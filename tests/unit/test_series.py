from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.market_data.csv_files import read_csv
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.domain.errors import DataError
from tradeloop.domain.series import find_gaps, resample
from tradeloop.domain.timeframes import Timeframe

M1, H1 = Timeframe.parse("1m"), Timeframe.parse("1h")


def test_gaps_are_found_not_filled() -> None:
    t = np.array([0, 1, 2, 5, 6, 10], dtype=np.int64) * 60_000
    gaps = find_gaps(t, M1)
    assert [(g.first_missing // 60_000, g.last_missing // 60_000, g.missing) for g in gaps] == [
        (3, 4, 2), (7, 9, 3)]


def test_resample_aggregates_and_drops_incomplete_buckets() -> None:
    candles, _ = synth_market(0.5, timeframe="1m", seed=3)  # 12 hours
    drop = np.ones(len(candles), dtype=bool)
    drop[90] = False  # a hole inside the second hour
    out = resample(candles.take(drop), M1, H1)
    assert len(out) == 11
    assert 3_600_000 + candles.open_time[0] not in out.open_time
    first = candles.take(slice(0, 60))
    assert out.open[0] == first.open[0] and out.close[0] == first.close[-1]
    assert out.high[0] == first.high.max() and out.low[0] == first.low.min()
    assert out.volume[0] == pytest.approx(first.volume.sum())
    partial = resample(candles.take(slice(0, 90)), M1, H1)
    assert len(partial) == 1  # the unfinished second hour is not invented


def test_resample_rejects_non_nesting_timeframes() -> None:
    with pytest.raises(DataError, match="not a whole number"):
        resample(synth_market(1, seed=1)[0], Timeframe.parse("1h"), Timeframe.parse("1m"))


@pytest.mark.parametrize(
    ("source_file", "source", "target_file", "target"),
    [
        ("binance_BTC_USDT_1m.csv.gz", "1m", "binance_BTC_USDT_1h.csv", "1h"),
        ("binance_ETH_USDT_1m.csv.gz", "1m", "binance_ETH_USDT_1h.csv", "1h"),
        ("binance_BTC_USDT_5m.csv.gz", "5m", "binance_BTC_USDT_1h.csv", "1h"),
        ("binance_SOL_USDT_5m.csv.gz", "5m", "binance_SOL_USDT_1h.csv", "1h"),
        ("binance_ETH_USDT_1h.csv", "1h", "binance_ETH_USDT_4h.csv", "4h"),
        ("binance_BTC_USDT_1h.csv", "1h", "binance_BTC_USDT_1d.csv", "1d"),
    ],
)
def test_resampling_matches_the_exchanges_own_candles(
    shared_data: Path, source_file: str, source: str, target_file: str, target: str
) -> None:
    fine = read_csv(shared_data / source_file).candles
    native = read_csv(shared_data / target_file).candles
    ours = resample(fine, Timeframe.parse(source), Timeframe.parse(target))
    common, i, j = np.intersect1d(ours.open_time, native.open_time, return_indices=True)
    assert len(common) > 2000
    for field in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(ours, field)[i], getattr(native, field)[j])
    np.testing.assert_allclose(ours.volume[i], native.volume[j], rtol=1e-9)
