"""The stored symbol blacklist on a real SQLite database: the automatic screen lists a symbol
every instance lost on (once, with its reason and expiry), the operator lifts it or adds
one, an entry expires, and a bad request is refused with the reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.store.blacklist_records import Blacklist
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.app import open_store
from tradeloop.app.graduation import screen_symbols
from tradeloop.app.operator import Operator
from tradeloop.domain.errors import ConfigError
from tradeloop.domain.trading import ClosedTrade
from tradeloop.settings import load_settings

H, DAY = 3_600_000, 86_400_000
NOW = 1_750_000_000_000 // H * H


def test_the_screen_lists_the_operator_lifts_and_entries_expire(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "symbols: [BTC/USDT, ETH/USDT]\nrisk: {auto_blacklist: {hours: 48}}\n")
    settings = load_settings(tmp_path / "config.yaml", env={})
    handle = open_store(settings)
    store = TradingStore(handle.engine, "paper", 1)
    rng = np.random.default_rng(0)
    for inst in ("main", "ma_cross:BTCUSDT:1h:x"):  # both lose on BTC, ETH is noise
        for i in range(15):
            for symbol, mean in (("BTC/USDT", -0.01), ("ETH/USDT", 0.0)):
                r = float(rng.normal(mean, 0.005))
                t = NOW - 5 * DAY + i * H
                store.for_instance(inst).trade(ClosedTrade(
                    symbol, 1.0, 100.0, 100 * (1 + r), t, t + H, 0.0, 100 * r, r, "signal",
                    0.6), "1h", None)
    assert screen_symbols(settings, handle, {"live"})(NOW) == []  # another mode's rows
    listed = screen_symbols(settings, handle, {"paper"})(NOW)
    assert len(listed) == 1 and listed[0].startswith("BTC/USDT blacklisted for 48 h: 2 "
                                                     "instances all lost")
    assert screen_symbols(settings, handle, {"paper"})(NOW + H) == []  # in force: not twice
    book = Blacklist(handle.engine)
    assert set(book.active(NOW)) == {"BTC/USDT"}
    assert "until" in book.active(NOW)["BTC/USDT"]
    assert book.active(NOW + 49 * H) == {}  # expired
    op = Operator(settings, handle.engine, by="tester", now_ms=lambda: NOW + H)
    assert op.lift_blacklist("BTC/USDT") == "BTC/USDT may be traded again"
    assert book.active(NOW + 2 * H) == {}
    entry = op.blacklist_entries()[0]
    assert (entry.source, entry.lifted_by) == ("auto", "tester")
    with pytest.raises(ConfigError, match="is not blacklisted"):
        op.lift_blacklist("BTC/USDT")
    assert op.blacklist("ETH/USDT", 6, "exchange maintenance") == "ETH/USDT blacklisted for 6 h"
    assert "exchange maintenance (by tester)" in book.active(NOW + 2 * H)["ETH/USDT"]
    with pytest.raises(ConfigError, match="not a configured symbol"):
        op.blacklist("DOGE/USDT", 6, "x")
    with pytest.raises(ConfigError, match="needs a reason"):
        op.blacklist("ETH/USDT", 6, " ")
    handle.close()
