"""Per strategy instance: its closed trades and its P&L, win rate, Sharpe and drawdown (the
one query module the status command, the dashboard and the session's pipeline read)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, select

from tradeloop.adapters.store.schema import TradeOutcomeRow
from tradeloop.domain.timestamps import ms_of, ts

DAY_MS = 86_400_000


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
    """Figures of one instance's trades, each return its P&L over the book it was made on
    (``capital`` where the row does not say)."""
    pnl = np.array([t[2] for t in trades], dtype=float)
    if not len(pnl):
        return InstancePerformance(name, 0, 0.0, None, None, 0.0)
    rets = np.array([p / (b - p if b is not None and b - p > 0 else capital)
                     for _, _, p, b in trades])
    first, last = trades[0][1] // DAY_MS, trades[-1][1] // DAY_MS
    daily = np.zeros(int(last - first) + 1)
    for (_, exit_, _, _), r in zip(trades, rets, strict=True):
        daily[exit_ // DAY_MS - first] += r
    sd = float(np.std(daily, ddof=1)) if len(daily) > 1 else 0.0
    sharpe = float(np.mean(daily)) / sd * math.sqrt(365) if sd > 0 else None
    curve = np.concatenate(([1.0], np.cumprod(1.0 + rets)))
    peak = np.maximum.accumulate(curve)
    return InstancePerformance(name, len(pnl), float(pnl.sum()), float(np.mean(pnl > 0)),
                               sharpe, float(np.max(1.0 - curve / peak)))


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
