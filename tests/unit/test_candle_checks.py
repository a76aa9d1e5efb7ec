import numpy as np
import pytest

from tradeloop.domain.candle_checks import REASONS, validate_candles
from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.timeframes import Timeframe

H = 3_600_000
T0 = 1_704_067_200_000
TF = Timeframe.parse("1h")


def frame(rows: list[tuple[float, ...]]) -> CandleArrays:
    a = np.array(rows, dtype=np.float64)
    return CandleArrays(a[:, 0].astype(np.int64), a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5])


GOOD = (T0, 10.0, 11.0, 9.0, 10.5, 5.0)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ((T0 + H, np.nan, 11, 9, 10, 1), "non_finite"),
        ((T0 + H, 10, np.inf, 9, 10, 1), "non_finite"),
        ((1_704_067_200, 10, 11, 9, 10, 1), "timestamp_out_of_range"),  # seconds, not ms
        ((T0 + H + 60_000, 10, 11, 9, 10, 1), "misaligned_timestamp"),
        ((T0 + H, 0, 11, 9, 10, 1), "non_positive_price"),
        ((T0 + H, 10, 11, 9, 10, -1), "negative_volume"),
        ((T0 + H, 10, 9, 11, 10, 1), "high_below_low"),
        ((T0 + H, 12, 11, 9, 10, 1), "open_outside_range"),
        ((T0 + H, 10, 11, 9, 8.5, 1), "close_outside_range"),
        ((T0, 10, 11, 9, 10, 1), "duplicate_timestamp"),
    ],
)
def test_each_bad_class_is_rejected_with_its_reason(row: tuple[float, ...], reason: str) -> None:
    candles = frame([GOOD, row, (T0 + 2 * H, 10, 11, 9, 10, 1)])
    valid, report = validate_candles(candles, TF)
    assert report.counts == {reason: 1}
    assert valid.open_time.tolist() == [T0, T0 + 2 * H]
    assert report.examples[reason][0].startswith("line 3:")
    assert report.accepted == 2 and report.total_rows == 3


def test_out_of_order_vs_duplicate() -> None:
    rows = [GOOD, (T0 + 2 * H, 10, 11, 9, 10, 1), (T0 + H, 10, 11, 9, 10, 1),
            (T0 + 2 * H, 10, 11, 9, 10, 1), (T0 + 3 * H, 10, 11, 9, 10, 1)]
    valid, report = validate_candles(frame(rows), TF)
    assert report.counts == {"out_of_order": 1, "duplicate_timestamp": 1}
    assert valid.open_time.tolist() == [T0, T0 + 2 * H, T0 + 3 * H]


def test_unclosed_candle_is_rejected() -> None:
    rows = [GOOD, (T0 + H, 10, 11, 9, 10, 1)]
    valid, report = validate_candles(frame(rows), TF, now_ms=T0 + H + 1)
    assert report.counts == {"not_closed": 1}
    assert len(valid) == 1


def test_first_reason_wins_and_counts_add_up() -> None:
    rows = [(T0, np.nan, 9, 11, 10, -1), GOOD, (T0 + H, 10, 9, 11, 10, -1)]
    _, report = validate_candles(frame(rows), TF)
    assert report.counts["non_finite"] == 1
    assert report.counts["negative_volume"] == 1
    assert report.rejected + report.accepted == report.total_rows == 3
    assert all(r in REASONS for r in report.counts)
    assert report.lines()[0].startswith("non_finite: 1 rows")
