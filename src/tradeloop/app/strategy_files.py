"""Strategy files on disk: export (with the metrics of a real backtest), import into the
project (``strategies/``), and settings that trade one whole (``--strategy-file``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeloop.app.stores import open_store
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import DataError
from tradeloop.settings import Settings
from tradeloop.strategies.catalog import spec_of
from tradeloop.strategies.imported import FOLDER, load_strategy_file, read_json
from tradeloop.strategies.strategy_file import StrategyFile, apply, parse, render


def settings_for_file(settings: Settings, path: Path) -> Settings:
    """``settings`` trading the strategy file at ``path``."""
    return apply(settings, load_strategy_file(path))


def export_strategy(settings: Settings, name: str, params: dict[str, Any], symbol: str,
                    timeframe: str, start_ms: int | None = None, end_ms: int | None = None,
                    extra_metrics: dict[str, Any] | None = None,
                    description: str | None = None) -> dict[str, Any]:
    """The strategy file of ``name`` with ``params``, its ``backtest_metrics`` measured by a
    backtest of the file's own settings on the stored candles of ``symbol`` ``timeframe``
    (the whole stored range unless given)."""
    from tradeloop.app.backtests import run_backtest  # imports torch

    spec = spec_of(name)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    draft = render(spec, params, settings, symbol, timeframe, {
        "total_trades": 0, "win_rate": None, "avg_R": None, "total_pnl": 0.0,
        "max_drawdown": 0.0, "sharpe": None}, now, description)
    trading = apply(settings, parse(draft, "export"))
    store = open_store(trading)
    try:
        key = SeriesKey(trading.exchange.name, symbol, timeframe)
        candles = store.candles.load(key)
        if not len(candles):
            raise DataError(f"no stored candles for {key}: import or download them first "
                            f"(tradeloop data import / download, data resample)")
        start = start_ms if start_ms is not None else int(candles.open_time[0])
        end = end_ms if end_ms is not None else int(candles.open_time[-1]) + 1
        result = run_backtest(trading, store, [symbol], start, end, files=False)
    finally:
        store.close()
    p = result.performance
    draft["backtest_metrics"] = {
        "total_trades": p.trades, "win_rate": p.win_rate, "avg_R": p.average_r,
        "total_pnl": p.total_return, "max_drawdown": -p.max_drawdown,
        "sharpe": p.sharpe if p.sharpe == p.sharpe else None,
        "sortino": p.sortino if p.sortino == p.sortino else None,
        "profit_factor": p.profit_factor if p.profit_factor != float("inf") else "inf",
        "buy_and_hold": p.buy_and_hold_return, "exposure": p.exposure,
        "backtest_from": _iso(start), "backtest_to": _iso(end), **(extra_metrics or {})}
    return draft


def import_strategy_file(settings: Settings, path: Path) -> tuple[Path, StrategyFile]:
    """Check the file and keep a copy in the project's ``strategies/`` folder."""
    doc = read_json(path, "strategy file")
    sf = parse(doc, str(path))
    apply(settings, sf)  # it must fit this configuration too
    folder = settings.path(FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    target.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return target, sf


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
