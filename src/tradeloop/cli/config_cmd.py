"""``tradeloop config validate|show``."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from tradeloop.cli.common import console
from tradeloop.settings import load_settings


def register(groups: Any) -> None:
    p = groups.add_parser("config", help="validate or show the configuration")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    v = sub.add_parser("validate", help="check a config file; exit 1 with the bad key's path")
    v.add_argument("path", nargs="?", default=None, help="config file (default: --config)")
    v.set_defaults(func=validate)
    s = sub.add_parser("show", help="print the effective configuration with defaults")
    s.set_defaults(func=show)


def validate(args: argparse.Namespace) -> int:
    path = args.path or args.config
    settings = load_settings(path)
    secrets = [n for n, v in settings.secrets if v is not None]
    tfs = ", ".join(settings.timeframes.names)
    console.print(f"✓ {path or 'config.yaml (defaults)'} is valid: {len(settings.symbols)} "
                  f"symbols, timeframes {tfs}, mode {settings.live_trading.mode}")
    console.print(f"  secrets from environment: {', '.join(secrets) if secrets else 'none set'}")
    return 0


def show(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    console.print(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False).rstrip())
    return 0
