"""Series-level operations on sorted candles: gap detection and resampling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.errors import DataError
from tradeloop.domain.timeframes import Timeframe


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing candles between two stored ones: open times ``first_missing..last_missing``."""

    first_missing: int
    last_missing: int
    missing: int


def find_gaps(open_time: np.ndarray, timeframe: Timeframe) -> list[Gap]:
    """Gaps in a strictly increasing series of open times. Nothing is filled in."""
    if open_time.size < 2:
        return []
    step = np.diff(open_time)
    where = np.flatnonzero(step > timeframe.ms)
    return [
        Gap(
            int(open_time[i] + timeframe.ms),
            int(open_time[i + 1] - timeframe.ms),
            int(step[i] // timeframe.ms - 1),
        )
        for i in where
    ]


def resample(
    candles: CandleArrays, source: Timeframe, target: Timeframe, *, complete_only: bool = True
) -> CandleArrays:
    """Aggregate sorted ``source`` candles into ``target`` candles the way exchanges do.

    First open, max high, min low, last close, summed volume per bucket. With ``complete_only``
    (the default) a bucket is emitted only when every one of its source candles is present, so
    a gap or an unfinished last bucket never yields an invented candle.
    """
    if not source.divides(target):
        raise DataError(f"cannot resample {source} into {target}: {target} is not a whole "
                        f"number of {source} candles")
    if len(candles) == 0:
        return CandleArrays.empty()
    bucket = target.floor_array(candles.open_time)
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [len(candles)]))
    out = CandleArrays(
        bucket[starts],
        candles.open[starts],
        np.maximum.reduceat(candles.high, starts),
        np.minimum.reduceat(candles.low, starts),
        candles.close[ends - 1],
        np.add.reduceat(candles.volume, starts),
    )
    if complete_only:
        out = out.take((ends - starts) == target.ms // source.ms)
    return out
