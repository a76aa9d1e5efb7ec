"""Pre-deployment checks of seed 002: "Pre-deployment checks: 5/5 passed"."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ml.dataset import candles_needed
from tradeloop.ports import CandleReader, ModelRegistry
from tradeloop.settings import Settings

MIN_CANDLES_PER_TIMEFRAME = 500


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


def check_models(settings: Settings, files: ModelRegistry, symbol: str) -> CheckResult:
    """A champion model file for every configured timeframe."""
    missing = []
    for tf in settings.timeframes.names:
        try:
            ref = files.champion(symbol, tf)
        except TradeloopError:
            ref = None
        if ref is None or not ref.path.exists():
            missing.append(tf)
    n = len(settings.timeframes.names)
    if not missing:
        return CheckResult("models", True, f"All models exist ({n} timeframes)")
    return CheckResult("models", False, f"Champion models missing for {symbol} "
                       f"{', '.join(missing)} ({n - len(missing)}/{n} timeframes trained; "
                       f"run `tradeloop train --symbol {symbol}`)")


def check_history(settings: Settings, store: CandleReader, symbol: str) -> CheckResult:
    counts = {tf: store.count(SeriesKey(settings.exchange.name, symbol, tf))
              for tf in settings.timeframes.names}
    short = [f"{tf} ({n})" for tf, n in counts.items() if n < MIN_CANDLES_PER_TIMEFRAME]
    total = sum(counts.values())
    if not short:
        return CheckResult("history", True, f"Historical data: {total:,} candles")
    return CheckResult("history", False, f"Historical data: {total:,} candles; fewer than "
                       f"{MIN_CANDLES_PER_TIMEFRAME} for {symbol} {', '.join(short)}")


def check_replay_models(settings: Settings, store: CandleReader, symbol: str,
                        start_ms: int) -> CheckResult:
    """A replayed phase trains its models walk-forward: enough history before the window."""
    short = []
    for tf in settings.timeframes.names:
        need = candles_needed(settings, tf)
        closed = Timeframe.parse(tf).closed_by(start_ms)
        n = len(store.load(SeriesKey(settings.exchange.name, symbol, tf), end_ms=closed))
        if n < need:
            short.append(f"{tf} ({n:,}/{need:,})")
    n_tf = len(settings.timeframes.names)
    if not short:
        return CheckResult("models", True, f"Models: {n_tf} timeframes can be trained "
                           f"walk-forward on the history before the window")
    return CheckResult("models", False, f"Not enough {symbol} history before the replay "
                       f"window to train its models: {', '.join(short)}")


def check_replay_provider(settings: Settings, store: CandleReader, symbol: str,
                          start_ms: int, end_ms: int) -> CheckResult:
    """The replay's data provider is the store: every timeframe has candles in the window."""
    empty = [tf for tf in settings.timeframes.names
             if len(store.load(SeriesKey(settings.exchange.name, symbol, tf), start_ms,
                               end_ms)) == 0]
    if not empty:
        return CheckResult("provider", True, "Data provider initialized (replay of stored "
                           "candles)")
    return CheckResult("provider", False, f"Replay window has no {symbol} candles for "
                       f"{', '.join(empty)}")


def check_provider(settings: Settings, store: CandleReader, symbol: str,
                   exchange_factory: Callable[[], Any]) -> CheckResult:
    try:
        exchange = exchange_factory()
        exchange.load_markets()
    except TradeloopError as exc:
        return CheckResult("provider", False, f"Data provider unreachable: {exc}")
    except Exception as exc:  # ccxt network errors: a failed check, not a crash
        return CheckResult("provider", False,
                           f"Data provider unreachable: {exc.__class__.__name__}: {exc}"[:300])
    if symbol not in exchange.markets:
        return CheckResult("provider", False, f"{symbol} is not listed on {exchange.id}")
    return CheckResult("provider", True, f"Data provider initialized ({exchange.id})")


def check_paper_validation(settings: Settings, *, replayed: bool) -> CheckResult:
    """The guide's prerequisite: a passed paper-trading validation of at least
    ``deployment.paper_validation_hours`` in ``validation_results/``. A live phase needs one
    on live data; a rehearsed phase also accepts a rehearsed validation."""
    folder = settings.path(settings.paths.validation_dir)
    need = settings.deployment.paper_validation_hours
    found: list[tuple[str, dict[str, Any], Path]] = []
    for path in sorted(folder.glob("paper_validation_*.json")) if folder.is_dir() else []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # unreadable: not evidence
        if isinstance(doc, dict) and doc.get("kind") == "paper_trading_validation":
            found.append((str(doc.get("finished_at", "")), doc, path))
    usable = [(t, d, p) for t, d, p in found if d.get("passed") is True
              and float(d.get("duration_hours") or 0) >= need
              and (replayed or not d.get("replayed"))]
    if usable:
        t, d, p = max(usable, key=lambda x: x[0])
        return CheckResult("paper_validation", True,
                           f"Paper trading validation: {d.get('verdict')} "
                           f"{d.get('criteria_met')}/{d.get('criteria_total')} over "
                           f"{float(d['duration_hours']):g} h on {t[:10]} ({p.name}"
                           f"{', rehearsed on history' if d.get('replayed') else ''})")
    what = "on live data " if not replayed else ""
    seen = f" ({len(found)} found, none passed {what}over {need:g} h)" if found else ""
    return CheckResult("paper_validation", False,
                       f"No passed paper trading validation {what}in {folder.name}/{seen}: "
                       f"run `python run_paper_trading_validation.py --duration {need:g}`")


def run_checks(settings: Settings, store: CandleReader, symbol: str,
               exchange_factory: Callable[[], Any], champions: ModelRegistry,
               database: CheckResult, replay: tuple[int, int] | None = None
               ) -> list[CheckResult]:
    """The five checks, in the guide's order (``database``: the store's own check); the
    config check passed by getting here (loading the config validates it). ``replay`` = the
    (start, end) of a replayed phase."""
    if replay is None:
        models = check_models(settings, champions, symbol)
        provider = check_provider(settings, store, symbol, exchange_factory)
    else:
        models = check_replay_models(settings, store, symbol, replay[0])
        provider = check_replay_provider(settings, store, symbol, *replay)
    return [database, models, check_history(settings, store, symbol),
            CheckResult("config", True, "Configuration valid"), provider]
