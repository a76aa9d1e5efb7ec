"""Composition root: Settings -> wired components for a mode. The only package that chooses
(and imports) adapters."""

from tradeloop.app.stores import (
    StoreHandle,
    champion_files,
    exchange_for,
    model_registry,
    notifier_for,
    open_store,
    wall_clock,
)
from tradeloop.engine.assembly import (
    engine_window,
    risk_limits,
    run_warmup,
    strategy_for,
    wire_engine,
)

__all__ = ["StoreHandle", "champion_files", "engine_window", "exchange_for", "model_registry",
           "notifier_for", "open_store", "risk_limits", "run_warmup", "strategy_for",
           "wall_clock", "wire_engine"]
