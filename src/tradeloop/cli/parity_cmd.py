"""``tradeloop parity --deployment N``: live-vs-replay parity of a deployment."""

from __future__ import annotations

import argparse
from typing import Any

from tradeloop.cli.common import console, settings_from

EXIT_DIVERGED = 4


def register(groups: Any) -> None:
    p = groups.add_parser("parity", help="replay a deployment's candles with the models that "
                                         "served it and compare predictions and orders one by "
                                         "one (exit 4 when they diverge)")
    p.add_argument("--deployment", type=int, required=True, metavar="N",
                   help="deployment id (see `python deploy_production.py --status`)")
    p.set_defaults(func=parity)


def parity(args: argparse.Namespace) -> int:
    from tradeloop.app.parity import run_parity
    from tradeloop.app.stores import open_store

    settings = settings_from(args)
    store = open_store(settings)
    try:
        report, path = run_parity(settings, store, args.deployment)
    finally:
        store.close()
    d = report.as_dict()
    p, o, t = d["predictions"], d["orders"], d["transitions"]
    console.print(f"deployment {report.deployment_id} ({report.mode}): "
                  f"predictions {p['matched']:,}/{max(p['live'], p['replay']):,} identical "
                  f"({100 * p['share']:.1f}%), orders {o['matched']:,}/"
                  f"{max(o['live'], o['replay']):,} ({100 * o['share']:.1f}%), mode changes "
                  f"{t['matched']:,}/{max(t['live'], t['replay']):,}")
    first = report.first
    if first is None:
        console.print("✓ live and replay agree: identical predictions, orders and mode changes")
    else:
        console.print(f"✗ first divergence: {first.line()}")
    console.print(f"report: {path}")
    return 0 if report.identical else EXIT_DIVERGED
