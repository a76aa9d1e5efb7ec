"""Row-level validation of incoming candles.

Bad rows are rejected with a reason; valid rows pass through untouched. Each row is charged
to the first reason that applies, in the order of ``REASONS``, so counts add up to the number
of rejected rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.timeframes import Timeframe

# Plausible open times: 2009-01-01 .. 2100-01-01 (catches seconds written as milliseconds).
MIN_TS_MS = 1_230_768_000_000
MAX_TS_MS = 4_102_444_800_000
MAX_EXAMPLES = 3

REASONS = (
    "malformed_row",
    "missing_field",
    "non_numeric",
    "non_finite",
    "timestamp_out_of_range",
    "misaligned_timestamp",
    "non_positive_price",
    "negative_volume",
    "high_below_low",
    "open_outside_range",
    "close_outside_range",
    "not_closed",
    "duplicate_timestamp",
    "out_of_order",
)

DESCRIPTIONS = {
    "malformed_row": "the row has more fields than the header",
    "missing_field": "a field is empty or the row is truncated",
    "non_numeric": "a field is not a number",
    "non_finite": "a field is NaN or infinite",
    "timestamp_out_of_range": "timestamp is not milliseconds between 2009 and 2100",
    "misaligned_timestamp": "timestamp is not on the timeframe's grid",
    "non_positive_price": "a price is zero or negative",
    "negative_volume": "volume is negative",
    "high_below_low": "high is below low",
    "open_outside_range": "open is outside [low, high]",
    "close_outside_range": "close is outside [low, high]",
    "not_closed": "the candle has not closed yet",
    "duplicate_timestamp": "timestamp already seen (first row kept)",
    "out_of_order": "timestamp earlier than a previous row",
}


@dataclass
class RejectReport:
    """What validation kept and rejected, with a per-reason count and the first examples."""

    total_rows: int = 0
    accepted: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(self.counts.values())

    def add(self, reason: str, example: str | None = None, n: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + n
        if example is not None:
            shown = self.examples.setdefault(reason, [])
            if len(shown) < MAX_EXAMPLES:
                shown.append(example)

    def lines(self) -> list[str]:
        """Human-readable summary, one line per reason, in a stable order."""
        out = []
        for reason in sorted(self.counts, key=lambda r: REASONS.index(r) if r in REASONS else 99):
            examples = "; ".join(self.examples.get(reason, []))
            desc = DESCRIPTIONS.get(reason, reason)
            out.append(f"{reason}: {self.counts[reason]} rows ({desc}), e.g. {examples}")
        return out


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def _example(reason: str, line: int, c: CandleArrays, i: int) -> str:
    ts = int(c.open_time[i])
    o, h, lo, cl, v = (float(getattr(c, f)[i]) for f in ("open", "high", "low", "close", "volume"))
    detail = {
        "non_finite": f"o={_fmt(o)} h={_fmt(h)} l={_fmt(lo)} c={_fmt(cl)} v={_fmt(v)}",
        "timestamp_out_of_range": f"timestamp {ts}",
        "misaligned_timestamp": f"timestamp {ts}",
        "non_positive_price": f"o={_fmt(o)} h={_fmt(h)} l={_fmt(lo)} c={_fmt(cl)}",
        "negative_volume": f"volume {_fmt(v)}",
        "high_below_low": f"high {_fmt(h)} < low {_fmt(lo)}",
        "open_outside_range": f"open {_fmt(o)} outside [{_fmt(lo)}, {_fmt(h)}]",
        "close_outside_range": f"close {_fmt(cl)} outside [{_fmt(lo)}, {_fmt(h)}]",
        "not_closed": f"timestamp {ts}",
        "duplicate_timestamp": f"timestamp {ts}",
        "out_of_order": f"timestamp {ts}",
    }.get(reason, f"timestamp {ts}")
    return f"line {line}: {detail}"


def validate_candles(
    candles: CandleArrays,
    timeframe: Timeframe,
    *,
    now_ms: int | None = None,
    line_numbers: np.ndarray | None = None,
    pre_rejected: np.ndarray | None = None,
    report: RejectReport | None = None,
) -> tuple[CandleArrays, RejectReport]:
    """Split ``candles`` (in file order) into valid rows and a :class:`RejectReport`.

    ``pre_rejected`` marks rows the parser already rejected (their reasons are in ``report``).
    ``now_ms`` (from the Clock) rejects candles that have not closed yet.
    """
    n = len(candles)
    report = report or RejectReport()
    report.total_rows += n
    lines = line_numbers if line_numbers is not None else np.arange(n) + 2
    bad = np.zeros(n, dtype=bool) if pre_rejected is None else pre_rejected.copy()
    t = candles.open_time
    o, h, lo, c, v = candles.open, candles.high, candles.low, candles.close, candles.volume

    with np.errstate(invalid="ignore"):
        finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c) & np.isfinite(v)
        checks: list[tuple[str, np.ndarray]] = [
            ("non_finite", ~finite),
            ("timestamp_out_of_range", (t < MIN_TS_MS) | (t > MAX_TS_MS)),
            ("misaligned_timestamp", ~timeframe.is_aligned(t)),
            ("non_positive_price", (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0)),
            ("negative_volume", v < 0),
            ("high_below_low", h < lo),
            ("open_outside_range", (o < lo) | (o > h)),
            ("close_outside_range", (c < lo) | (c > h)),
        ]
        if now_ms is not None:
            checks.append(("not_closed", t + timeframe.ms > now_ms))

    for reason, failed in checks:
        hit = failed & ~bad
        _charge(report, reason, hit, candles, lines)
        bad |= hit

    # Order checks over the rows still standing, in file order.
    idx = np.flatnonzero(~bad)
    if idx.size:
        ts = t[idx]
        prev_max = np.maximum.accumulate(np.concatenate(([np.iinfo(np.int64).min], ts[:-1])))
        keep = ts > prev_max
        if not keep.all():
            kept_ts = ts[keep]
            dropped = idx[~keep]
            is_dup = np.isin(t[dropped], kept_ts)
            for reason, rows in (("duplicate_timestamp", dropped[is_dup]),
                                 ("out_of_order", dropped[~is_dup])):
                mask = np.zeros(n, dtype=bool)
                mask[rows] = True
                _charge(report, reason, mask, candles, lines)
                bad |= mask

    valid = candles.take(~bad)
    report.accepted += len(valid)
    return valid, report


def _charge(
    report: RejectReport, reason: str, hit: np.ndarray, candles: CandleArrays, lines: np.ndarray
) -> None:
    count = int(hit.sum())
    if not count:
        return
    report.add(reason, n=count)
    for i in np.flatnonzero(hit)[:MAX_EXAMPLES]:
        report.examples.setdefault(reason, [])
        if len(report.examples[reason]) < MAX_EXAMPLES:
            report.examples[reason].append(_example(reason, int(lines[i]), candles, int(i)))
