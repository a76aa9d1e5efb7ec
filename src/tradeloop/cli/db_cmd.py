"""``tradeloop db check|backup|upgrade``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tradeloop.app.data_tools import database
from tradeloop.cli.common import console, settings_from


def register(groups: Any) -> None:
    p = groups.add_parser("db", help="database maintenance")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("check", help="integrity check and schema version").set_defaults(func=check)
    b = sub.add_parser("backup", help="consistent online backup (safe while the system runs)")
    b.add_argument("--to", default=None, metavar="DIR", help="folder (default: paths.backups_dir)")
    b.set_defaults(func=backup)
    sub.add_parser("upgrade", help="apply schema migrations").set_defaults(func=upgrade)


def check(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    engine = database.make_engine(settings.database_url)
    try:
        result = database.check(engine)
    finally:
        engine.dispose()
    console.print(f"database: {database.redact_url(settings.database_url)}")
    for line in result.lines():
        console.print(f"  {line}")
    if result.ok:
        console.print("✓ Database integrity: OK")
        return 0
    if result.revision != result.head:
        console.print("✗ schema is not current: run `tradeloop db upgrade`")
    else:
        console.print("✗ Database integrity: FAILED")
    return 1


def backup(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    engine = database.make_engine(settings.database_url)
    try:
        dest = database.backup(engine, Path(args.to) if args.to else
                               settings.path(settings.paths.backups_dir))
    finally:
        engine.dispose()
    console.print(f"✓ backup written: {dest} ({dest.stat().st_size / 1e6:.1f} MB, integrity ok)")
    return 0


def upgrade(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    engine = database.make_engine(settings.database_url)
    try:
        before, after = database.upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        console.print(f"✓ schema already at {after}")
    else:
        console.print(f"✓ schema upgraded: {before or 'empty'} -> {after}")
    return 0
