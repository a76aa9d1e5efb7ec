"""Imported strategy files as strategy choices: ``file:<name>`` names the file ``<name>`` in
the project's ``strategies/`` folder (``tradeloop strategy import`` puts it there). Such a
choice trades the file's strategy, parameters and risk limits on the configured symbols and
account; ``--strategy-file`` instead takes the file whole (pair, timeframe, costs, exchange)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tradeloop.domain.errors import ConfigError
from tradeloop.settings import Settings
from tradeloop.strategies.catalog import CATALOGUE, STRATEGIES
from tradeloop.strategies.strategy_file import StrategyFile, parse

FOLDER = "strategies"
PREFIX = "file:"


def read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON: "
                          f"{exc.msg}") from None


def load_strategy_file(path: Path) -> StrategyFile:
    return parse(read_json(path, "strategy file"), str(path))


def imported_files(settings: Settings) -> list[Path]:
    folder = settings.path(FOLDER)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def choices(settings: Settings) -> dict[str, str]:
    """Every strategy an operator may choose: the library's, then the imported files."""
    return dict(STRATEGIES) | {
        f"{PREFIX}{p.name}": f"imported strategy file {p.name}" for p in imported_files(settings)}


def imported(settings: Settings, choice: str) -> StrategyFile | None:
    """The checked file a ``file:`` choice names (None for a library name); the file must
    fit the configuration: its pair among the symbols, its timeframe among the timeframes."""
    if not choice.startswith(PREFIX):
        return None
    name = choice.removeprefix(PREFIX)
    if not name or Path(name).name != name:
        raise ConfigError(f"strategy {choice!r}: expected file:<name> of a file in "
                          f"{FOLDER}/ (tradeloop strategy import FILE)")
    try:
        sf = load_strategy_file(settings.path(FOLDER) / name)
    except ConfigError as exc:
        raise ConfigError(f"strategy {choice!r}: {exc}") from None
    pair = sf.exchange["trading_pair"]
    if pair not in settings.symbols:
        raise ConfigError(f"strategy {choice!r} trades {pair}, which is not among the "
                          f"symbols ({', '.join(settings.symbols)})")
    if sf.timeframe not in settings.timeframes.names:
        raise ConfigError(f"strategy {choice!r} is for {sf.timeframe}, which is not among the "
                          f"timeframes ({', '.join(settings.timeframes.names)})")
    return sf



def check_choice(settings: Settings, choice: str) -> None:
    """Raise a ConfigError unless ``choice`` can trade here (a library name, or an imported
    file that fits the configuration)."""
    if imported(settings, choice) is None and choice not in CATALOGUE:
        raise ConfigError(f"unknown strategy {choice!r}; choose one of "
                          f"{', '.join(choices(settings))}")
