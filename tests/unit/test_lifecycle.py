"""The graduation lifecycle: stage moves, the criteria of each stage, the consistency test
(checked against scipy's Welch test), capital bands, and an instance that loses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tradeloop.lifecycle import criteria
from tradeloop.lifecycle.allocation import Claim, allocate
from tradeloop.lifecycle.catalogue import candidate, catalogue, unique
from tradeloop.lifecycle.pipeline import Pipeline
from tradeloop.lifecycle.record import DAY_MS, TrackRecord, TradeMark, Window
from tradeloop.lifecycle.stages import Stage, StageError, Transition
from tradeloop.settings import Settings
from tradeloop.settings.schema import CapitalBand, GraduationSettings

T0 = 1_704_067_200_000


def window(returns: np.ndarray, trades: int = 0) -> Window:
    marks = tuple(TradeMark(T0 + i, T0 + i + 1, 0.001) for i in range(trades))
    return Window(T0, np.asarray(returns, dtype=np.float64), marks)


def test_only_the_lifecycle_moves_are_allowed() -> None:
    Transition("x", Stage.PAPER, Stage.LIVE_CANDIDATE, T0, "ok")
    Transition("x", Stage.UNDER_REVIEW, Stage.LIVE, T0, "recovered")
    with pytest.raises(StageError, match="cannot move from paper to live"):
        Transition("x", Stage.PAPER, Stage.LIVE, T0, "skipping a stage")
    with pytest.raises(StageError, match="from retired: none"):
        Transition("x", Stage.RETIRED, Stage.PAPER, T0, "back from the dead")


def test_a_window_holds_whole_days_and_the_trades_inside() -> None:
    rec = TrackRecord(T0, np.arange(10) / 1000, (
        TradeMark(T0 + DAY_MS // 2, T0 + 2 * DAY_MS, 0.01),  # entered before the window
        TradeMark(T0 + 3 * DAY_MS, T0 + 4 * DAY_MS, -0.01),
        TradeMark(T0 + 5 * DAY_MS, T0 + 9 * DAY_MS, 0.02)))  # closes after it
    w = rec.window(T0 + DAY_MS + 1, T0 + 6 * DAY_MS)
    assert w.start_ms == T0 + 2 * DAY_MS and w.days == 4
    assert np.allclose(w.returns, [0.002, 0.003, 0.004, 0.005])
    assert [t.ret for t in w.trades] == [-0.01]
    assert w.loss_streak == 1
    assert rec.window(T0 + 20 * DAY_MS, T0 + 30 * DAY_MS).days == 0


def test_the_backtest_deflates_by_the_number_of_backtests_judged() -> None:
    rng = np.random.default_rng(0)
    w = window(rng.normal(0.004, 0.02, 120), trades=40)  # per-day Sharpe ~0.2
    cfg = GraduationSettings().backtest.model_copy(update={"lookback_days": 120})
    few, many = criteria.backtest(w, cfg, 2), criteria.backtest(w, cfg, 500)
    p_few = next(c.value for c in few.checks if c.name == "deflated_sharpe")
    p_many = next(c.value for c in many.checks if c.name == "deflated_sharpe")
    assert p_few is not None and p_many is not None and p_many < p_few
    thin = criteria.backtest(window(rng.normal(0.004, 0.02, 120), trades=3), cfg, 2)
    assert thin.after is None and "trades 3 >= 30 (not met)" in thin.reason


def test_on_noise_the_backtest_rarely_passes() -> None:
    """Skill-less candidates: the share that passes stays near or below the 5 % the deflated
    Sharpe allows, even before the Sharpe >= 1 bar."""
    rng = np.random.default_rng(1)
    cfg = GraduationSettings().backtest.model_copy(update={"min_sharpe": -100.0,
                                                           "lookback_days": 180})
    passed = sum(criteria.backtest(window(rng.normal(0, 0.01, 180), 50), cfg, 20).after
                 is Stage.PAPER for _ in range(400))
    assert passed / 400 <= 0.02


def test_the_consistency_test_is_welchs() -> None:
    rng = np.random.default_rng(2)
    live, paper = rng.normal(-0.002, 0.01, 9), rng.normal(0.003, 0.012, 60)
    ours = criteria.consistency(live, paper)
    ref = stats.ttest_ind(live, paper, equal_var=False, alternative="less").pvalue
    assert ours == pytest.approx(ref, rel=1e-9)
    assert criteria.consistency(live[:1], paper) is None


def test_a_live_candidate_is_judged_against_its_paper() -> None:
    rng = np.random.default_rng(3)
    cfg = GraduationSettings().live_candidate
    paper = window(rng.normal(0.004, 0.01, 60))
    same = criteria.live_candidate(window(rng.normal(0.004, 0.01, 8)), paper, cfg)
    assert same.after is Stage.LIVE
    early = criteria.live_candidate(window(rng.normal(0.004, 0.01, 3)), paper, cfg)
    assert early.after is None
    worse = np.full(30, -0.003) + rng.normal(0, 0.002, 30)
    assert criteria.live_candidate(window(worse), paper, cfg).after is Stage.RETIRED


def test_review_degrades_recovers_and_retires() -> None:
    cfg = GraduationSettings().review
    rng = np.random.default_rng(4)
    good, bad = rng.normal(0.004, 0.01, 30), rng.normal(-0.004, 0.01, 30)
    assert criteria.live(window(good), cfg).after is None
    assert criteria.live(window(bad), cfg).after is Stage.UNDER_REVIEW
    assert criteria.under_review(window(good), window(good[:5]), cfg).after is Stage.LIVE
    crash = np.full(10, -0.03)
    assert criteria.under_review(window(bad), window(crash), cfg).after is Stage.RETIRED
    flat = rng.normal(0.0, 0.01, 30)
    assert criteria.under_review(window(flat), window(flat), cfg).after is Stage.RETIRED
    streak = Window(T0, good, tuple(TradeMark(T0, T0 + 1, -0.001) for _ in range(8)))
    v = criteria.live(streak, cfg)
    assert v.after is Stage.UNDER_REVIEW and "loss_streak 8" in v.reason


BANDS = {Stage.LIVE_CANDIDATE: CapitalBand(min_percent=1, max_percent=5),
         Stage.LIVE: CapitalBand(min_percent=5, max_percent=25)}


def test_allocations_stay_in_their_bands_and_keep_the_reserve() -> None:
    claims = [Claim(f"live{i}", Stage.LIVE, 0.05 * (i + 1), 0.01) for i in range(6)] + \
        [Claim(f"cand{i}", Stage.LIVE_CANDIDATE, 0.1, 0.01 * (i + 1)) for i in range(3)]
    out = allocate(claims, BANDS, reserve=0.2)
    by = {a.instance: a for a in out}
    assert sum(a.fraction for a in out) <= 0.8 + 1e-12
    for a in out:
        band = BANDS[a.stage]
        assert a.fraction == 0 or band.min_percent / 100 <= a.fraction <= band.max_percent / 100
    assert by["live5"].fraction >= by["live4"].fraction >= by["live0"].fraction
    assert "scaled by" in by["live5"].reason  # six wishes of up to 25 % exceed the 80 %
    lone = allocate([Claim("a", Stage.LIVE, 0.3, 0.01)], BANDS, reserve=0.2)
    assert lone[0].fraction == 0.25  # never above the band, however good


def test_a_losing_instance_gets_the_band_minimum_and_none_when_money_runs_out() -> None:
    out = allocate([Claim("good", Stage.LIVE, 0.3, 0.01), Claim("loser", Stage.LIVE, -0.2, 0.01),
                    Claim("new", Stage.LIVE_CANDIDATE, None, None)], BANDS, reserve=0.2)
    by = {a.instance: a.fraction for a in out}
    assert by == {"good": 0.25, "loser": 0.05, "new": 0.01}
    tight = allocate([Claim(f"l{i}", Stage.LIVE, 0.1, 0.01) for i in range(3)], BANDS,
                     reserve=0.88)
    fractions = sorted(a.fraction for a in tight)
    assert fractions[0] == 0.0 and sum(fractions) <= 0.12 + 1e-12
    assert all(f == 0 or f >= 0.05 for f in fractions)
    assert "no capital left" in next(a.reason for a in tight if a.fraction == 0)


def test_an_instance_that_loses_after_going_live_is_reviewed_then_retired() -> None:
    cfg = GraduationSettings(backtest={"lookback_days": 60, "min_trades": 5},
                             paper={"min_days": 20, "min_trades": 5})
    rng = np.random.default_rng(6)
    days = 60 + 200
    rets = np.concatenate([rng.normal(0.01, 0.01, 60 + 60), rng.normal(-0.01, 0.01, 140)])
    trades = tuple(TradeMark(T0 + d * DAY_MS, T0 + d * DAY_MS + 3_600_000,
                             float(np.sign(rets[d]) * 0.001)) for d in range(days))
    rec = TrackRecord(T0, rets, trades)
    pipe = Pipeline(cfg)
    c = candidate("ma_cross", "XX/USDT", "1h")
    start = T0 + 60 * DAY_MS
    assert pipe.add(c, start) is not None and pipe.add(c, start) is None  # de-duplicated
    moves = pipe.backtest(start, {c.key: rec.window(start - 60 * DAY_MS, start)})
    for d in range(1, 200):
        moves += pipe.review(start + d * DAY_MS, {c.key: rec})
        for a in pipe.allocate(start + d * DAY_MS, {c.key: rec}):
            assert a.fraction <= 0.25
    path = [t.after for t in moves]
    assert path == [Stage.BACKTESTED, Stage.PAPER, Stage.LIVE_CANDIDATE, Stage.LIVE,
                    Stage.UNDER_REVIEW, Stage.RETIRED]
    review = next(t for t in moves if t.after is Stage.UNDER_REVIEW)
    assert review.at_ms > start + 60 * DAY_MS  # only after the edge was gone
    assert pipe.counts()["retired"] == 1 and not pipe.untested(start + 400 * DAY_MS)


def test_the_catalogue_is_rules_by_symbols_by_timeframes_without_duplicates() -> None:
    s = Settings(symbols=["BTC/USDT", "ETH/USDT"], graduation={"timeframes": ["1h", "4h"]})
    cands = catalogue(s)
    assert {c.strategy for c in cands} >= {"ma_cross", "seller_exhaustion"}
    assert "ml" not in {c.strategy for c in cands}
    assert len(cands) == len(unique(cands + cands))
    a = candidate("ma_cross", "BTC/USDT", "1h", {"fast": 10})
    b = candidate("ma_cross", "BTC/USDT", "1h")
    assert a.key == b.key  # the defaults filled in: the same parameters
    assert candidate("ma_cross", "BTC/USDT", "1h", {"fast": 12}).key != b.key
