"""Backtest metrics, computed one way, in one place.

Conventions: the equity curve starts at the window's start (the initial balance) and ends at
its end; per-period simple returns of that curve give Sharpe (mean / standard deviation) and
Sortino (mean / downside deviation, target 0), both with ``n - 1`` in the denominator and
annualised by the square root of the periods per year, risk-free rate 0. Max drawdown is the
larger of the curve's and the per-candle equity's that the risk manager's halt watches. CAGR
is not given for windows shorter than 30 days (annualising two weeks says nothing). A profit
factor with no losing trade is infinite, and said so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from tradeloop.domain.trading import ClosedTrade

YEAR_MS = 365.25 * 86_400_000
MIN_CAGR_MS = 30 * 86_400_000


@dataclass(frozen=True)
class Performance:
    start_equity: float
    end_equity: float
    total_return: float
    cagr: float | None  # None: window shorter than 30 days
    sharpe: float
    sortino: float
    max_drawdown: float
    trades: int
    win_rate: float | None
    profit_factor: float | None  # None: no trades; inf: no losing trade
    average_r: float | None
    exposure: float
    buy_and_hold_return: float

    def as_dict(self) -> dict[str, float | int | str | None]:
        """JSON-safe: an infinite profit factor is the string "inf", other non-finite
        figures (an undefined Sharpe) are None."""
        out: dict[str, float | int | str | None] = {}
        for k, v in asdict(self).items():
            if isinstance(v, float) and math.isinf(v) and k == "profit_factor":
                out[k] = "inf"
            elif isinstance(v, float) and not math.isfinite(v):
                out[k] = None
            else:
                out[k] = v
        return out


def max_drawdown(equity: np.ndarray) -> float:
    peak = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peak)) if len(equity) else 0.0


def evaluate(times_ms: np.ndarray, equity: np.ndarray, trades: list[ClosedTrade],
             risks: list[float], buy_and_hold_return: float,
             candle_drawdown: float = 0.0) -> Performance:
    """Metrics of an equity curve sampled at regular times (from the window's start to its
    end) and the trades behind it.

    ``risks[i]`` is the money trade i stood to lose at its stop (for average R);
    ``candle_drawdown`` the worst drawdown of the per-candle equity (the halt's measure).
    """
    start, end = float(equity[0]), float(equity[-1])
    span = float(times_ms[-1] - times_ms[0]) if len(times_ms) > 1 else 0.0
    total = end / start - 1.0
    cagr = ((end / start) ** (YEAR_MS / span) - 1.0 if span >= MIN_CAGR_MS and end > 0
            else None)
    rets = np.diff(equity) / equity[:-1] if len(equity) > 1 else np.empty(0)
    step = float(np.median(np.diff(times_ms))) if len(times_ms) > 1 else 0.0
    per_year = YEAR_MS / step if step > 0 else 0.0
    sd = float(np.std(rets, ddof=1)) if len(rets) > 1 else 0.0
    sharpe = float(np.mean(rets) / sd * math.sqrt(per_year)) if sd > 0 else float("nan")
    downside = (float(np.sqrt(np.sum(np.minimum(rets, 0.0) ** 2) / (len(rets) - 1)))
                if len(rets) > 1 else 0.0)
    sortino = (float(np.mean(rets) / downside * math.sqrt(per_year)) if downside > 0
               else float("nan"))
    wins = [t for t in trades if t.pnl > 0]
    gross_win = sum(t.pnl for t in wins)
    gross_loss = -sum(t.pnl for t in trades if t.pnl <= 0)
    pf = (gross_win / gross_loss if gross_loss > 0 else math.inf) if trades else None
    avg_r = (float(np.mean([t.pnl / r for t, r in zip(trades, risks, strict=True) if r > 0]))
             if trades and any(r > 0 for r in risks) else None)
    return Performance(
        start_equity=start, end_equity=end, total_return=total, cagr=cagr, sharpe=sharpe,
        sortino=sortino, max_drawdown=max(max_drawdown(equity), candle_drawdown),
        trades=len(trades), win_rate=len(wins) / len(trades) if trades else None,
        profit_factor=pf, average_r=avg_r, exposure=_exposure(trades, times_ms),
        buy_and_hold_return=buy_and_hold_return)


def _exposure(trades: list[ClosedTrade], times_ms: np.ndarray) -> float:
    """Share of the window with at least one position open (overlaps counted once, spans
    clipped to the window: never above 1)."""
    if not trades or len(times_ms) < 2:
        return 0.0
    lo, hi = int(times_ms[0]), int(times_ms[-1])
    spans = sorted((max(t.entry_time_ms, lo), min(t.exit_time_ms, hi)) for t in trades)
    covered, cur_start, cur_end = 0, spans[0][0], spans[0][1]
    for a, b in spans[1:]:
        if a > cur_end:
            covered += max(0, cur_end - cur_start)
            cur_start, cur_end = a, b
        else:
            cur_end = max(cur_end, b)
    covered += max(0, cur_end - cur_start)
    return covered / float(hi - lo)
