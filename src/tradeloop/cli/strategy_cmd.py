"""``tradeloop strategy list``: the strategy library with each strategy's parameters."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from tradeloop.cli.common import console
from tradeloop.strategies.catalog import CATALOGUE


def register(groups: Any) -> None:
    p = groups.add_parser("strategy", help="the strategy library")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="every strategy with its version and parameter schema")
    ls.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    ls.set_defaults(func=list_strategies)


def _rows() -> list[dict[str, Any]]:
    return [{"name": s.name, "version": s.version, "description": s.description,
             "needs_models": s.needs_models, "params_key": s.key,
             "params": [{"name": p.name, "type": p.kind, "default": p.default, "low": p.low,
                         "high": p.high, "step": p.step, "description": p.description}
                        for p in s.schema.params]}
            for s in CATALOGUE.values()]


def list_strategies(args: argparse.Namespace) -> int:
    rows = _rows()
    if args.json:
        console.print_json(json.dumps(rows))
        return 0
    for row in rows:
        shared = "" if row["params_key"] == row["name"] else \
            f" — parameters: trading.params.{row['params_key']}"
        console.print(f"[bold]{row['name']}[/] v{row['version']}"
                      f"{' (trains models)' if row['needs_models'] else ''}{shared}\n"
                      f"  {row['description']}")
        if row["params"]:
            table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
            for col in ("parameter", "type", "default", "range", "step", "meaning"):
                table.add_column(col)
            for p in row["params"]:
                table.add_row(p["name"], p["type"], str(p["default"]),
                              f"[{_g(p['low'])}, {_g(p['high'])}]", _g(p["step"]),
                              p["description"])
            console.print(table)
        console.print()
    return 0


def _g(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"
