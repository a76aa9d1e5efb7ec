"""Cross-check against public backtesters: a moving-average-cross rule on a year of real
BTC/USDT 1h candles through ``tradeloop backtest``'s engine, backtesting.py and vectorbt
gives the same entries and exits and the same return within 0.5 points. How sizing, fills and
the final close are matched is in ``tests/support/ma_cross_peers.py``; the one difference:
backtesting.py's ``finalize_trades`` sells a position still open at the last bar at that bar's
open, we and vectorbt at its close."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests.support import ma_cross_peers as peers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
HOUR = 3_600_000


@pytest.fixture(scope="module")
def runs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[peers.Run, peers.Run, peers.Run]:
    candles = peers.load_year(shared_data / "binance_BTC_USDT_1h.csv", "2023-01-01",
                              "2024-01-01")
    settings = peers.project(tmp_path_factory.mktemp("peers"), candles)
    with contextlib.redirect_stderr(io.StringIO()):  # backtesting.py's progress bar
        return peers.ours(settings, candles), peers.backtesting_py(candles), \
            peers.vectorbt_run(candles)


def test_same_trades_as_backtesting_py(runs: tuple[peers.Run, peers.Run, peers.Run]) -> None:
    ours, theirs, _ = runs
    assert len(ours.entries) > 100  # a year of 10/30 crosses
    assert ours.entries == theirs.entries
    assert ours.exits[:-1] == theirs.exits[:-1]
    (t_ours, _), (t_theirs, _) = ours.exits[-1], theirs.exits[-1]
    assert t_ours - HOUR == t_theirs  # the final close: end of the last bar vs its open
    assert abs(ours.total_return - theirs.total_return) < 0.005


def test_same_trades_as_vectorbt(runs: tuple[peers.Run, peers.Run, peers.Run]) -> None:
    ours, _, vbt = runs  # vectorbt averages its fill prices: equal to ~1e-15
    assert [t for t, _ in ours.entries] == [t for t, _ in vbt.entries]
    assert [p for _, p in ours.entries] == pytest.approx([p for _, p in vbt.entries], rel=1e-12)
    assert [p for _, p in ours.exits] == pytest.approx([p for _, p in vbt.exits], rel=1e-12)
    assert [t for t, _ in ours.exits[:-1]] == [t for t, _ in vbt.exits[:-1]]
    assert abs(ours.total_return - vbt.total_return) < 0.005
