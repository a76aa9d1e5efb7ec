"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tradeloop.domain.errors import DataError
from tradeloop.domain.redaction import redact
from tradeloop.settings import Settings, load_settings

# Piped output (logs, CI, tests) gets a wide console so tables are not squeezed to 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160
console = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)


def settings_from(args: argparse.Namespace) -> Settings:
    """The config, trading the strategy file of ``--strategy-file`` where the command has
    it."""
    settings = load_settings(args.config)
    path = getattr(args, "strategy_file", None)
    if path is not None:
        from tradeloop.app.strategy_files import settings_for_file

        settings = settings_for_file(settings, path)
    return settings


def add_strategy_file(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy-file", type=Path, default=None, metavar="FILE",
                   help="trade this strategy file (its strategy, parameters, costs, risk, "
                        "symbol and timeframe) instead of the config's")


def fmt_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def parse_date_ms(text: str) -> int:
    """``2024-01-01``, ``2024-01-01T12:00`` (UTC) or integer milliseconds."""
    if text.isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"bad date {text!r}; expected YYYY-MM-DD[THH:MM] (UTC) or ms") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([mhdw])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_duration_ms(text: str) -> int:
    m = _DURATION.match(text.strip())
    if not m:
        raise DataError(f"bad duration {text!r}; expected e.g. 12h, 7d, 2w")
    return int(float(m.group(1)) * _UNIT_MS[m.group(2)])


def progress_bar(*, count: bool = False) -> Progress:
    columns = [TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn() if count else TextColumn("{task.percentage:>5.1f}%"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    return Progress(*columns, console=console, transient=False)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then masks every registered secret (tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(settings: Settings, name: str) -> None:
    """Seed-style lines on the console and in a rotated ``logs/<name>``; errors also go to
    a rotated ``logs/error.log``."""
    folder = settings.path(settings.paths.logs_dir)
    folder.mkdir(parents=True, exist_ok=True)
    detailed = RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    logging.getLogger("tradeloop.engine").setLevel(logging.NOTSET)  # a quiet backtest's
    for old in [h for h in root.handlers if getattr(h, "_tradeloop", False)]:
        root.removeHandler(old)  # set up again (tests, several commands in one process)
        old.close()
    console_handler = logging.StreamHandler()
    console_handler._tradeloop = True  # type: ignore[attr-defined]
    console_handler.setFormatter(RedactingFormatter("[%(asctime)s] %(message)s", "%H:%M:%S"))
    root.addHandler(console_handler)
    for file, level in ((name, logging.INFO), ("error.log", logging.ERROR)):
        handler = RotatingFileHandler(folder / file, maxBytes=20_000_000, backupCount=5,
                                      encoding="utf-8")
        handler.setLevel(level)
        handler.setFormatter(detailed)
        handler._tradeloop = True  # type: ignore[attr-defined]
        root.addHandler(handler)
