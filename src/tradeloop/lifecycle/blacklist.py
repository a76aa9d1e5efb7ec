"""Seed 003's automatic symbol filtering: which symbols' recent results are consistently poor
across strategies, judged so that noise and the number of symbols screened do not blacklist
a symbol by luck."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from tradeloop.settings.schema import AutoBlacklistSettings


@dataclass(frozen=True)
class SymbolVerdict:
    symbol: str
    listed: bool
    reason: str
    instances: int  # that traded it in the window
    trades: int
    mean_return: float | None  # per trade
    p_value: float | None  # one-sided: mean return per trade < 0


def screen(results: Mapping[str, Mapping[str, Sequence[float]]], cfg: AutoBlacklistSettings
           ) -> list[SymbolVerdict]:
    """``results``: symbol -> instance -> the returns of its trades closed in the window.
    Listed: enough instances and trades, every instance lost on it, and the pooled mean
    return per trade below zero at ``alpha`` / (symbols screened)."""
    level = cfg.alpha / max(1, len(results))
    out: list[SymbolVerdict] = []
    for symbol, by_instance in sorted(results.items()):
        traded = {k: np.asarray(r, dtype=float) for k, r in by_instance.items() if len(r)}
        pooled = np.concatenate(list(traded.values())) if traded else np.zeros(0)
        n, k = len(pooled), len(traded)
        if k < cfg.min_strategies or n < cfg.min_trades:
            out.append(SymbolVerdict(symbol, False, f"{k} instances, {n} trades: too few to "
                                     f"judge (needs {cfg.min_strategies} and "
                                     f"{cfg.min_trades})", k, n,
                                     float(pooled.mean()) if n else None, None))
            continue
        mean = float(pooled.mean())
        p = float(stats.ttest_1samp(pooled, 0.0, alternative="less").pvalue) \
            if np.std(pooled) > 0 else (0.0 if mean < 0 else 1.0)
        p = p if math.isfinite(p) else 1.0
        all_lost = all(float(r.sum()) < 0 for r in traded.values())
        listed = all_lost and p < level
        why = (f"{k} instances all lost on it over {n} trades (mean {100 * mean:+.2f} % a "
               f"trade, p = {p:.2g} < {level:.2g})" if listed else
               f"not consistently poor: {'every' if all_lost else 'not every'} instance lost, "
               f"mean {100 * mean:+.2f} % a trade, p = {p:.2g} (needs < {level:.2g})")
        out.append(SymbolVerdict(symbol, listed, why, k, n, mean, p))
    return out
