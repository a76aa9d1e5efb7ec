"""News items, the symbols they mention and their sentiment (pure).

An item's ``published_ms`` is the time its source gives (UTC); an item without a
trustworthy time is kept with ``None`` and never becomes a feature. Items are the same when
their id (URL) or their normalised title is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tradeloop.domain.symbols import parse_symbol

# common names of the large assets (an alias beside the ticker itself)
NAMES = {"BTC": ("bitcoin",), "ETH": ("ethereum", "ether"), "SOL": ("solana",),
         "BNB": ("binance coin",), "XRP": ("ripple",), "ADA": ("cardano",),
         "DOGE": ("dogecoin",), "AVAX": ("avalanche",), "DOT": ("polkadot",),
         "LTC": ("litecoin",), "LINK": ("chainlink",), "TRX": ("tron",)}
_WORD = re.compile(r"[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class NewsItem:
    """One headline from one source."""

    source: str
    uid: str  # the source's id of it (its URL where it has no other)
    url: str
    title: str
    summary: str
    published_ms: int | None
    fetched_ms: int
    symbols: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sentiment:
    """A model's reading of a headline: class probabilities and ``score`` = positive -
    negative, in [-1, 1]."""

    positive: float
    negative: float
    neutral: float

    @property
    def score(self) -> float:
        return self.positive - self.negative

    @property
    def label(self) -> str:
        best = max(self.positive, self.negative, self.neutral)
        return ("positive" if best == self.positive else
                "negative" if best == self.negative else "neutral")


def fresh(newest_ms: int | None, now_ms: int, hours: float) -> bool:
    """Whether a symbol's newest scored item (``newest_ms``) is at most ``hours`` old."""
    return newest_ms is not None and now_ms - newest_ms <= hours * 3_600_000


def normalise_title(title: str) -> str:
    """The title as compared for duplicates: case, accents, punctuation and spacing gone
    (letters of every script kept)."""
    text = "".join(c for c in unicodedata.normalize("NFKD", title)
                   if not unicodedata.combining(c))
    return " ".join(_WORD.sub(" ", text.casefold()).split())


def aliases(symbols: Sequence[str], extra: Mapping[str, Sequence[str]] | None = None
            ) -> dict[str, tuple[str, ...]]:
    """The words that mention each symbol: its base asset, the asset's common name and the
    configured ``extra`` ones (lower case)."""
    out: dict[str, tuple[str, ...]] = {}
    for s in symbols:
        base = parse_symbol(s).split("/")[0]
        words = [base.lower(), *NAMES.get(base, ()), *((extra or {}).get(s, ()))]
        out[s] = tuple(dict.fromkeys(w.lower().strip() for w in words if w.strip()))
    return out


def mentions(text: str, words: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The symbols whose words occur in ``text`` as whole words (case-insensitive)."""
    plain = f" {normalise_title(text)} "
    return tuple(s for s, ws in words.items()
                 if any(f" {normalise_title(w)} " in plain for w in ws))
