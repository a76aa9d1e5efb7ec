"""Capital by performance within each stage's band.

An instance's score is the one-sided 95 % lower bound of its per-day Sharpe ratio (of its
record since it entered paper), floored at 0, over its daily volatility: the mean-variance
weight mu / sigma^2 with the Sharpe ratio shrunk by its own noise, so that a short or noisy
record earns less than a long steady one, and a record whose Sharpe may well be 0 earns the
band's minimum. Within a stage the best score gets the band's maximum, the others in proportion
down to the band's minimum. If the bands' wishes exceed the account less its cash reserve,
every wish is scaled down, and instances are funded best first at no less than their band's
minimum until the money runs out; the rest get nothing (and the row says why). No instance
is ever above its band's maximum, or funded below its minimum.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.lifecycle.stages import Stage
from tradeloop.settings.schema import CapitalBand


@dataclass(frozen=True)
class Claim:
    instance: str
    stage: Stage
    sharpe_low: float | None  # per day, lower 95 % bound, of its record since paper
    volatility: float | None  # daily


@dataclass(frozen=True)
class Allocation:
    instance: str
    stage: Stage
    fraction: float  # of the account
    score: float
    reason: str


def score(claim: Claim) -> float:
    if claim.sharpe_low is None or not claim.volatility or claim.volatility <= 0:
        return 0.0
    return max(claim.sharpe_low, 0.0) / claim.volatility


def allocate(claims: list[Claim], bands: dict[Stage, CapitalBand], reserve: float
             ) -> list[Allocation]:
    """Fractions of the account for ``claims`` (stages without a band get nothing)."""
    scored = [(c, score(c)) for c in claims if c.stage in bands]
    best: dict[Stage, float] = {}
    for c, s in scored:
        best[c.stage] = max(best.get(c.stage, 0.0), s)
    wish: dict[str, float] = {}
    for c, s in scored:
        band = bands[c.stage]
        lo, hi = band.min_percent / 100, band.max_percent / 100
        share = s / best[c.stage] if best[c.stage] > 0 else 0.0
        wish[c.instance] = lo + (hi - lo) * share
    available = max(0.0, 1.0 - reserve)
    total = sum(wish.values())
    scale = min(1.0, available / total) if total > 0 else 1.0
    left = available
    out: list[Allocation] = []
    for c, s in sorted(scored, key=lambda cs: (-cs[1], cs[0].instance)):
        band = bands[c.stage]
        lo, hi = band.min_percent / 100, band.max_percent / 100
        w = min(hi, max(lo, wish[c.instance] * scale))
        if w > left + 1e-12:
            w = left if left >= lo else 0.0
        left -= w
        why = (f"score {s:.3g} in the {c.stage} band {band.min_percent:g}-"
               f"{band.max_percent:g} %" + (f", scaled by {scale:.3f} to keep the cash reserve"
                                             if scale < 1 else ""))
        if w == 0.0:
            why = (f"no capital left above the {100 * reserve:g} % cash reserve for the "
                   f"{c.stage} band's minimum {band.min_percent:g} %")
        out.append(Allocation(c.instance, c.stage, w, s, why))
    return out
