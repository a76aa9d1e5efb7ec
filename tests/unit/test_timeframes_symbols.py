import numpy as np
import pytest

from tradeloop.domain.errors import UnknownSymbolError, UnknownTimeframeError
from tradeloop.domain.symbols import parse_symbol, symbol_slug
from tradeloop.domain.timeframes import Timeframe


def test_parse_and_order() -> None:
    tfs = [Timeframe.parse(n) for n in ("1d", "1m", "4h", "15m")]
    assert [t.name for t in sorted(tfs)] == ["1m", "15m", "4h", "1d"]
    assert Timeframe.parse("5m").ms == 300_000


@pytest.mark.parametrize("bad", ["7m", "1x", "", "h1", "60s"])
def test_unknown_timeframe_names_the_choices(bad: str) -> None:
    with pytest.raises(UnknownTimeframeError, match="expected one of 1m"):
        Timeframe.parse(bad)


def test_alignment_and_weekly_offset() -> None:
    h = Timeframe.parse("1h")
    assert h.is_aligned(np.array([3_600_000, 3_600_001])).tolist() == [True, False]
    w = Timeframe.parse("1w")
    monday = 1_704_067_200_000  # 2024-01-01 was a Monday
    assert w.floor(monday + 3 * 86_400_000) == monday
    assert Timeframe.parse("1d").divides(w)
    assert not Timeframe.parse("4h").divides(Timeframe.parse("1h"))


def test_symbols() -> None:
    assert parse_symbol(" btc/usdt ") == "BTC/USDT"
    assert symbol_slug("ETH/USDT") == "ETH_USDT"
    for bad in ("BTCUSDT", "BTC/", "B$C/USDT"):
        with pytest.raises(UnknownSymbolError):
            parse_symbol(bad)
