"""``tradeloop`` command line: one parser, a module per command group."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console

from tradeloop.cli import (
    backtest_cmd,
    config_cmd,
    data_cmd,
    db_cmd,
    graduation_cmd,
    news_cmd,
    optimize_cmd,
    parity_cmd,
    run_cmd,
    strategy_cmd,
    train_cmd,
)
from tradeloop.domain.errors import TradeloopError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradeloop",
        description="Continuous-learning ML trading system. Run `tradeloop COMMAND -h` for help.",
    )
    parser.add_argument("--config", default=None, metavar="PATH",
                        help="config file (default: ./config.yaml, or built-in defaults)")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    config_cmd.register(groups)
    db_cmd.register(groups)
    data_cmd.register(groups)
    train_cmd.register(groups)
    backtest_cmd.register(groups)
    run_cmd.register(groups)
    parity_cmd.register(groups)
    strategy_cmd.register(groups)
    optimize_cmd.register(groups)
    graduation_cmd.register(groups)
    news_cmd.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tradeloop`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        return int(args.func(args) or EXIT_OK)
    except TradeloopError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.print("interrupted: everything committed before the interruption is kept")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
