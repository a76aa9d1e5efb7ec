"""Shared helpers for benchmarks: where results go, machine facts, the shared data folder."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set (``VmRSS``) or its peak (``VmHWM``). Not getrusage's
    ru_maxrss: Linux carries that across fork and exec, so a child would report its parent's
    peak."""
    with open("/proc/self/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith(field))
    return kb / 1024


def write_synthetic(candles: Any, symbols: list[str], timeframes: tuple[str, ...], days: float,
                    seed: int) -> None:
    """Seeded synthetic 1m markets for ``symbols`` (seed, seed + 1, ...), resampled to every
    timeframe and written to the candle store ``candles`` (exchange ``synthetic``)."""
    from tradeloop.adapters.market_data.synthetic import synth_market
    from tradeloop.domain.candles import SeriesKey
    from tradeloop.domain.series import resample
    from tradeloop.domain.timeframes import Timeframe

    m1 = Timeframe.parse("1m")
    for n, symbol in enumerate(symbols):
        base, _ = synth_market(days, seed=seed + n)
        for tf in timeframes:
            series = base if tf == "1m" else resample(base, m1, Timeframe.parse(tf))
            candles.write(SeriesKey("synthetic", symbol, tf), series)


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({**result, "machine": machine()}, indent=2) + "\n")
    return path


def report(name: str, result: dict[str, Any]) -> None:
    """Write ``results/<name>.json`` and print each figure."""
    path = write_result(name, result)
    for key, value in result.items():
        print(f"{key}: {value}")
    print(f"written: {path}")
