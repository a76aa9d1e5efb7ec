"""Import candle CSV files (the ``../shared/data`` format) into the store.

Format: header ``timestamp,open,high,low,close,volume``; ``timestamp`` is the open time in
integer milliseconds UTC; optional gzip (``.csv.gz``). File names
``<exchange>_<BASE>_<QUOTE>_<timeframe>[_<period>].csv[.gz]`` name the series.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.domain.candle_checks import RejectReport, validate_candles
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.errors import DataError
from tradeloop.domain.series import Gap, find_gaps
from tradeloop.domain.symbols import parse_symbol
from tradeloop.domain.timeframes import Timeframe

CSV_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
_NAME = re.compile(
    r"^(?P<exchange>[a-z0-9]+)_(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)_"
    r"(?P<tf>[0-9]+[a-zA-Z])(?:_[0-9]{8}-[0-9]{8})?\.csv(?:\.gz)?$"
)


@dataclass
class ParsedFile:
    """A CSV file read into arrays, with the rows the parser itself had to reject."""

    candles: CandleArrays
    line_numbers: np.ndarray
    pre_rejected: np.ndarray
    report: RejectReport = field(default_factory=RejectReport)
    notes: list[str] = field(default_factory=list)


def series_from_filename(path: Path, exchange: str | None = None, symbol: str | None = None,
                         timeframe: str | None = None) -> SeriesKey:
    """Series named by the file name, with explicit values taking precedence."""
    match = _NAME.match(path.name)
    if match is None and not (exchange and symbol and timeframe):
        raise DataError(
            f"{path}: cannot tell the series from the file name; expected "
            "<exchange>_<BASE>_<QUOTE>_<timeframe>.csv[.gz] (e.g. binance_BTC_USDT_1h.csv) "
            "or give --exchange, --symbol and --timeframe"
        )
    ex = exchange or (match.group("exchange") if match else "")
    sym = symbol or (f"{match.group('base')}/{match.group('quote')}" if match else "")
    tf = timeframe or (match.group("tf") if match else "")
    try:
        return SeriesKey(ex.lower(), parse_symbol(sym), Timeframe.parse(tf).name)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _check_header(path: Path, header: list[str]) -> list[int]:
    names = [h.strip().lower() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in names]
    if missing:
        raise DataError(
            f"{path}: header {','.join(header)!r} lacks {', '.join(missing)}; "
            f"expected {','.join(CSV_COLUMNS)}"
        )
    return [names.index(c) for c in CSV_COLUMNS]


def read_csv(path: Path) -> ParsedFile:
    """Read one candle file; raise DataError only when nothing in it is usable."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    try:
        frame = pd.read_csv(path, dtype={"timestamp": np.int64, "open": np.float64,
                                         "high": np.float64, "low": np.float64,
                                         "close": np.float64, "volume": np.float64},
                            keep_default_na=False, na_values=[""], engine="c")
        if list(frame.columns) == list(CSV_COLUMNS) and not frame.isna().to_numpy().any():
            n = len(frame)
            if n == 0:
                raise DataError(f"{path}: has a header but no candle rows")
            candles = CandleArrays.from_columns(
                open_time=frame["timestamp"].to_numpy(), open=frame["open"].to_numpy(),
                high=frame["high"].to_numpy(), low=frame["low"].to_numpy(),
                close=frame["close"].to_numpy(), volume=frame["volume"].to_numpy())
            return ParsedFile(candles, np.arange(n) + 2, np.zeros(n, dtype=bool))
    except DataError:
        raise
    except (ValueError, pd.errors.ParserError, EOFError, OSError, zlib.error,
            UnicodeDecodeError):
        pass  # fall through to the careful row-by-row reader
    return _read_carefully(path)


def _read_carefully(path: Path) -> ParsedFile:
    """Row-by-row reader that tells malformed, truncated and non-numeric rows apart."""
    report = RejectReport()
    notes: list[str] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    pre: list[str | None] = []
    try:
        handle = _open_text(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot open: {exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{path}: file is empty") from None
        except (EOFError, OSError, zlib.error, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: unreadable ({exc})") from None
        idx = _check_header(path, header)
        width = len(header)
        try:
            for raw in reader:
                if not raw or all(not f.strip() for f in raw):
                    continue
                lines.append(reader.line_num)
                if len(raw) > width:
                    pre.append("malformed_row")
                    rows.append([""] * 6)
                    continue
                if len(raw) < width:
                    raw = raw + [""] * (width - len(raw))
                fields = [raw[i].strip() for i in idx]
                pre.append("missing_field" if any(f == "" for f in fields) else None)
                rows.append(fields)
        except (EOFError, OSError, zlib.error) as exc:
            notes.append(f"file truncated after line {reader.line_num} ({exc}); "
                         "the rows before it were read")
        except UnicodeDecodeError as exc:
            notes.append(f"undecodable bytes after line {reader.line_num} ({exc}); "
                         "the rows before it were read")
    if not rows:
        raise DataError(f"{path}: has a header but no candle rows"
                        + (f" ({notes[0]})" if notes else ""))
    n = len(rows)
    table = np.array(rows, dtype=object).reshape(n, 6)
    reasons = np.array([r or "" for r in pre], dtype=object)
    numeric = {}
    for j, name in enumerate(CSV_COLUMNS):
        col = pd.to_numeric(pd.Series(table[:, j]), errors="coerce").to_numpy(dtype=np.float64)
        text = table[:, j]
        unparsed = np.isnan(col) & ~np.isin(np.char.lower(text.astype(str)), ["nan", "-nan", ""])
        reasons[(reasons == "") & unparsed] = "non_numeric"
        numeric[name] = col
    ts = numeric.pop("timestamp")
    with np.errstate(invalid="ignore"):
        bad_ts = ~np.isfinite(ts) | (np.floor(ts) != ts)
    reasons[(reasons == "") & bad_ts] = "non_numeric"
    ts_int = np.where(bad_ts, 0, ts).astype(np.int64)
    line_numbers = np.array(lines)
    candles = CandleArrays.from_columns(open_time=ts_int, **numeric)
    for reason in ("malformed_row", "missing_field", "non_numeric"):
        hit = np.flatnonzero(reasons == reason)
        if hit.size:
            report.add(reason, n=int(hit.size))
            report.examples[reason] = [
                f"line {int(line_numbers[i])}: {','.join(map(str, table[i]))!r}"
                for i in hit[:3]
            ]
    return ParsedFile(candles, line_numbers, reasons != "", report, notes)


@dataclass
class FileImport:
    """Result of importing one file."""

    path: Path
    key: SeriesKey
    report: RejectReport
    written: int
    gaps: list[Gap]
    notes: list[str]


def parse_and_validate(path: Path, key: SeriesKey, now_ms: int
                       ) -> tuple[CandleArrays, RejectReport, list[str]]:
    """Read ``path`` and keep only the rows that pass validation."""
    parsed = read_csv(path)
    valid, report = validate_candles(
        parsed.candles, Timeframe.parse(key.timeframe), now_ms=now_ms,
        line_numbers=parsed.line_numbers, pre_rejected=parsed.pre_rejected,
        report=parsed.report)
    return valid, report, parsed.notes


def file_gaps(candles: CandleArrays, key: SeriesKey) -> list[Gap]:
    return find_gaps(candles.open_time, Timeframe.parse(key.timeframe))


def discover(paths: list[Path]) -> list[Path]:
    """Candle files named on the command line; folders are searched recursively."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*") if q.name.endswith((".csv", ".csv.gz"))))
        elif p.exists():
            found.append(p)
        else:
            raise DataError(f"{p}: no such file or folder")
    return found


def import_file(store: CandleStore, path: Path, *, now_ms: int, exchange: str | None = None,
                symbol: str | None = None, timeframe: str | None = None) -> FileImport:
    """Validate one file and upsert its valid rows in one transaction."""
    key = series_from_filename(path, exchange, symbol, timeframe)
    valid, report, notes = parse_and_validate(path, key, now_ms)
    written = store.write(key, valid, refresh_gaps=False)
    if written or not store.gaps(key):
        store.refresh_gaps(key)
    return FileImport(path, key, report, written, file_gaps(valid, key), notes)
