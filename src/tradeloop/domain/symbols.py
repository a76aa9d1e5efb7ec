"""Market symbols in ccxt's unified ``BASE/QUOTE`` form."""

from __future__ import annotations

import re

from tradeloop.domain.errors import UnknownSymbolError

_SYMBOL = re.compile(r"^[A-Z0-9]{2,15}/[A-Z0-9]{2,10}$")


def parse_symbol(text: str) -> str:
    """Return the normalised symbol (``btc/usdt`` -> ``BTC/USDT``) or raise UnknownSymbolError."""
    symbol = str(text).strip().upper()
    if not _SYMBOL.match(symbol):
        raise UnknownSymbolError(
            f"unknown symbol {text!r}; expected BASE/QUOTE such as BTC/USDT"
        )
    return symbol


def symbol_slug(symbol: str) -> str:
    """File- and name-safe form of a symbol (``BTC/USDT`` -> ``BTC_USDT``)."""
    return parse_symbol(symbol).replace("/", "_")


def base36(n: int) -> str:
    """A non-negative integer in base 36 (compact ids)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out
