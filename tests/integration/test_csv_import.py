"""`tradeloop data import`: every bad-input class gets a clear error; good rows and what was
stored before are kept."""

import gzip
import sqlite3
from pathlib import Path

import pytest

from tradeloop.cli import main

HEADER = "timestamp,open,high,low,close,volume\n"
H = 3_600_000
T0 = 1_704_067_200_000


def good_rows(n: int, start: int = 0) -> list[str]:
    return [f"{T0 + (start + i) * H},100,101,99,100.5,10" for i in range(n)]


def write(folder: Path, name: str, lines: list[str], header: str = HEADER) -> Path:
    p = folder / name
    text = header + "".join(line + "\n" for line in lines)
    if name.endswith(".gz"):
        p.write_bytes(gzip.compress(text.encode()))
    else:
        p.write_text(text)
    return p


def run(project: Path, *args: str) -> int:
    return main(["--config", str(project / "config.yaml"), "data", "import", *args])


def stored(project: Path) -> list[tuple]:
    with sqlite3.connect(project / "data" / "trading.db") as conn:
        return conn.execute("SELECT symbol, timeframe, open_time, open, high, low, close, volume "
                            "FROM candles ORDER BY symbol, timeframe, open_time").fetchall()


@pytest.mark.parametrize(
    ("bad_line", "reason", "detail"),
    [
        (f"{T0 + 5 * H},NaN,101,99,100,1", "non_finite", "o=nan"),
        (f"{T0 + 5 * H},abc,101,99,100,1", "non_numeric", "abc"),
        (f"{T0 + 5 * H},100,101,99,100,", "missing_field", "line 7"),
        (f"{T0 + 5 * H},100,101,99,100,-3", "negative_volume", "volume -3"),
        (f"{T0 + 5 * H},100,98,99,100,1", "high_below_low", "high 98 < low 99"),
        (f"{T0 + 5 * H},100,101,99,105,1", "close_outside_range", "close 105 outside [99, 101]"),
        (f"{T0 + 2 * H},100,101,99,100,1", "duplicate_timestamp", f"timestamp {T0 + 2 * H}"),
        (f"{T0 + 5 * H + 1},100,101,99,100,1", "misaligned_timestamp", "line 7"),
        (f"{T0 + 5 * H},100,101,99,100,1,7", "malformed_row", "line 7"),
    ],
)
def test_bad_rows_are_counted_with_examples_and_good_rows_kept(
    project: Path, capsys: pytest.CaptureFixture[str], bad_line: str, reason: str, detail: str
) -> None:
    lines = [*good_rows(5), bad_line, *good_rows(3, start=6)]
    path = write(project, "binance_BTC_USDT_1h.csv", lines)
    assert run(project, str(path)) == 3  # exit 3: stored, with rejections
    out = capsys.readouterr().out
    assert f"rejected {reason}: 1 rows" in out and detail in out
    assert "8 valid rows" in out
    assert len(stored(project)) == 8


def test_out_of_order_rows(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = good_rows(3) + good_rows(1, start=10) + good_rows(2, start=4)
    assert run(project, str(write(project, "binance_ETH_USDT_1h.csv", lines))) == 3
    assert "rejected out_of_order: 2 rows" in capsys.readouterr().out


def test_nothing_stored_earlier_is_changed_or_lost(project: Path) -> None:
    assert run(project, str(write(project, "binance_BTC_USDT_1h.csv", good_rows(10)))) == 0
    before = stored(project)
    # A later file with conflicting but invalid rows for the same times, plus new rows.
    bad = [f"{T0 + i * H},100,90,99,100,1" for i in range(10)] + good_rows(2, start=10)
    assert run(project, str(write(project, "binance_BTC_USDT_1h.csv", bad))) == 3
    after = stored(project)
    assert after[:10] == before and len(after) == 12


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binance_BTC_USDT_1h.csv", b"", "file is empty"),
        ("binance_BTC_USDT_1h.csv", HEADER.encode(), "has a header but no candle rows"),
        ("binance_BTC_USDT_1h.csv", b"time,o,h,l,c,v\n1,2,3,4,5,6\n", "lacks timestamp, open"),
        ("binance_BTC_USDT_7m.csv", HEADER.encode(), "unknown timeframe '7m'"),
        ("binance_BTCUSDT_1h.csv", HEADER.encode(), "cannot tell the series from the file name"),
        ("binance_B$C_USDT_1h.csv", HEADER.encode(), "cannot tell the series"),
    ],
)
def test_unusable_files_fail_clearly(project: Path, capsys: pytest.CaptureFixture[str],
                                     name: str, content: bytes, message: str) -> None:
    path = project / name
    path.write_bytes(content)
    assert run(project, str(path)) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unknown_symbol_override(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, "candles.csv", good_rows(3))
    assert run(project, str(path), "--exchange", "binance", "--symbol", "BTCUSDT",
               "--timeframe", "1h") == 1
    assert "unknown symbol 'BTCUSDT'" in capsys.readouterr().err


def test_truncated_plain_file_keeps_complete_rows(project: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, "binance_BTC_USDT_1h.csv", good_rows(6))
    path.write_text(path.read_text()[:-12])  # cut in the middle of the last row
    assert run(project, str(path)) == 3
    out = capsys.readouterr().out
    assert "missing_field: 1 rows" in out
    assert len(stored(project)) == 5


def test_truncated_gzip_keeps_rows_before_the_cut(project: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, "binance_BTC_USDT_1h.csv.gz", good_rows(5000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert run(project, str(path)) == 3
    out = capsys.readouterr().out
    assert "file truncated" in out
    n = len(stored(project))
    assert 500 < n < 5000


def test_gaps_are_reported_never_filled(project: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    lines = good_rows(3) + good_rows(2, start=7)
    assert run(project, str(write(project, "binance_BTC_USDT_1h.csv", lines))) == 0
    assert "1 gaps / 4 missing candles" in capsys.readouterr().out
    assert len(stored(project)) == 5
    with sqlite3.connect(project / "data" / "trading.db") as conn:
        assert conn.execute("SELECT missing FROM candle_gaps").fetchall() == [(4,)]


def test_unclosed_candle_is_not_imported(project: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    far_future = 4_000_000_000_000 // H * H
    lines = [*good_rows(2), f"{far_future},100,101,99,100,1"]
    assert run(project, str(write(project, "binance_BTC_USDT_1h.csv", lines))) == 3
    assert "not_closed: 1 rows" in capsys.readouterr().out
