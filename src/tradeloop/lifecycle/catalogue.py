"""The candidate catalogue: library strategies x symbols x timeframes, plus optimised
variants, one instance per strategy + parameters + symbol + timeframe."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from tradeloop.settings import Settings
from tradeloop.strategies.catalog import CATALOGUE, spec_of


@dataclass(frozen=True)
class Candidate:
    strategy: str
    symbol: str
    timeframe: str
    params: dict[str, Any] = field(default_factory=dict)  # checked, defaults filled in
    source: str = "catalogue"  # or the study that found it

    @property
    def key(self) -> str:
        """Its identity: strategy, parameters, symbol and timeframe (the source is not)."""
        blob = json.dumps([self.strategy, self.params, self.symbol, self.timeframe],
                          sort_keys=True)
        digest = hashlib.sha1(blob.encode(), usedforsecurity=False).hexdigest()[:8]
        return f"{self.strategy}:{self.symbol.replace('/', '')}:{self.timeframe}:{digest}"


def candidate(strategy: str, symbol: str, timeframe: str, params: dict[str, Any] | None = None,
              source: str = "catalogue") -> Candidate:
    spec = spec_of(strategy)
    return Candidate(strategy, symbol, timeframe,
                     spec.schema.resolve(params, f"strategy {strategy!r}"), source)


def catalogue(settings: Settings) -> list[Candidate]:
    """Every configured strategy (default: the library's rule strategies) on every symbol
    and graduation timeframe, with its default parameters."""
    g = settings.graduation
    names = g.strategies or [n for n, s in CATALOGUE.items() if not s.needs_models]
    return [candidate(n, s, tf) for n in names for s in settings.symbols for tf in g.timeframes]


def unique(candidates: list[Candidate]) -> list[Candidate]:
    """The first of each key, in order."""
    seen: set[str] = set()
    out: list[Candidate] = []
    for c in candidates:
        if c.key not in seen:
            seen.add(c.key)
            out.append(c)
    return out
