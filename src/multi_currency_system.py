#!/usr/bin/env python3
"""The seed guide's training command, kept as a thin wrapper around `tradeloop train`:

    python src/multi_currency_system.py --train --symbol ETH/USDT [--interval 4h]
"""

from __future__ import annotations

import argparse
import sys

from tradeloop.cli import main as tradeloop_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", required=True,
                        help="train the models of --symbol")
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--interval", default=None)
    parser.add_argument("--config", default=None)
    args = parser.parse_args(argv)
    forwarded = ["--config", args.config] if args.config else []
    forwarded += ["train", "--symbol", args.symbol]
    if args.interval:
        forwarded += ["--interval", args.interval]
    return tradeloop_main(forwarded)


if __name__ == "__main__":
    sys.exit(main())
