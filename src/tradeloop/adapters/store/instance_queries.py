"""Per strategy instance: its closed trades and its P&L, win rate, Sharpe and drawdown (the
one query module the status command, the dashboard and the session's pipeline read)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, select

from tradeloop.adapters.store.schema import TradeOutcomeRow
from tradeloop.domain.timestamps import ms_of, ts
from tradeloop.lifecycle.record import DAY_MS, from_trades


@dataclass(frozen=True)
class InstancePerformance:
    instance: str
    trades: int
    pnl: float
    win_rate: float | None
    sharpe: float | None  # annualised, of the daily realised P&L over the capital
    max_drawdown: float  # of capital + cumulative realised P&L


Trade = tuple[int, int, float, float | None]  # entry ms, exit ms, P&L, book equity after


def instance_trades(engine: Engine, instances: list[str] | None = None
                    ) -> dict[str, list[Trade]]:
    """(entry ms, exit ms, P&L, book equity after) of every closed trade, by instance, in
    exit order."""
    q = select(TradeOutcomeRow.instance, TradeOutcomeRow.entry_time, TradeOutcomeRow.exit_time,
               TradeOutcomeRow.pnl_absolute, TradeOutcomeRow.book_equity).order_by(
        TradeOutcomeRow.exit_time, TradeOutcomeRow.id)
    if instances is not None:
        q = q.where(TradeOutcomeRow.instance.in_(instances))
    out: dict[str, list[Trade]] = {k: [] for k in instances or []}
    with engine.connect() as conn:
        for inst, entry, exit_, pnl, book in conn.execute(q):
            out.setdefault(inst, []).append((ms_of(entry), ms_of(exit_), float(pnl or 0.0),
                                             None if book is None else float(book)))
    return out


def performance(trades: list[Trade], capital: float, name: str) -> InstancePerformance:
    """Figures of one instance's trades: its track record (each trade's P&L over the book it
    was made on, ``capital`` where the row does not say) from the first exit to the last."""
    if not trades:
        return InstancePerformance(name, 0, 0.0, None, None, 0.0)
    start, end = trades[0][1], trades[-1][1] // DAY_MS * DAY_MS + DAY_MS
    rec = from_trades(start, end, trades, capital)
    w = rec.window(rec.origin_ms, rec.end_ms)
    pnl = np.array([t[2] for t in trades], dtype=float)
    return InstancePerformance(name, len(pnl), float(pnl.sum()), float(np.mean(pnl > 0)),
                               w.sharpe, w.max_drawdown)


def instance_performance(engine: Engine, capital: float,
                         instances: list[str] | None = None) -> list[InstancePerformance]:
    """Every instance's figures from its closed trades (``capital``: the book each trades)."""
    return [performance(t, capital, k)
            for k, t in sorted(instance_trades(engine, instances).items())]


def symbol_results(engine: Engine, since_ms: int, until_ms: int, modes: set[str]
                   ) -> dict[str, dict[str, list[float]]]:
    """Symbol -> instance -> the return of each of its trades closed in ``[since, until)``
    in ``modes`` (every instance, the session's own included; a backtest's rows, mode
    replay, are not a session's results)."""
    q = select(TradeOutcomeRow.symbol, TradeOutcomeRow.instance, TradeOutcomeRow.pnl_percent
               ).where(TradeOutcomeRow.exit_time >= ts(since_ms),
                       TradeOutcomeRow.exit_time < ts(until_ms),
                       TradeOutcomeRow.mode.in_(sorted(modes))).order_by(TradeOutcomeRow.id)
    out: dict[str, dict[str, list[float]]] = {}
    with engine.connect() as conn:
        for symbol, inst, pct in conn.execute(q):
            out.setdefault(symbol, {}).setdefault(inst, []).append(float(pct or 0.0) / 100)
    return out
