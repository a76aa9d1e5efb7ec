"""The ``graduation`` section of ``config.yaml``: strategy graduation's stages, criteria and
capital bands (seed 000's defaults)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from tradeloop.domain.errors import TradeloopError
from tradeloop.settings.fields import Fraction, TimeframeName, _Section


class BacktestStageSettings(_Section):
    """candidate -> backtested -> paper: the walk-forward backtest on the stored history
    before the decision. The deflated Sharpe counts every backtest the pipeline has judged."""

    lookback_days: Annotated[float, Field(ge=7)] = 180.0
    min_trades: Annotated[int, Field(ge=1)] = 30
    min_sharpe: float = 1.0  # annualised
    max_drawdown_percent: Annotated[float, Field(gt=0, le=100)] = 15.0
    min_deflated_sharpe: Fraction = 0.95
    retest_days: Annotated[float, Field(gt=0)] = 30.0  # a rejected candidate, on newer data


class PaperStageSettings(_Section):
    """paper -> live_candidate (seed 000: 30-90 days, 50+ trades, Sharpe >= 1, DD <= 15 %).
    The deflated Sharpe counts every instance that has entered paper."""

    min_days: Annotated[float, Field(gt=0)] = 30.0
    max_days: Annotated[float, Field(gt=0)] = 90.0
    min_trades: Annotated[int, Field(ge=1)] = 50
    min_sharpe: float = 1.0
    max_drawdown_percent: Annotated[float, Field(gt=0, le=100)] = 15.0
    min_deflated_sharpe: Fraction = 0.95

    @model_validator(mode="after")
    def _days(self) -> PaperStageSettings:
        if self.min_days > self.max_days:
            raise ValueError(f"min_days {self.min_days} is above max_days {self.max_days}")
        return self


class CapitalBand(_Section):
    """Share of the account an instance of a stage may hold, in percent."""

    min_percent: Annotated[float, Field(ge=0, le=100)]
    max_percent: Annotated[float, Field(gt=0, le=100)]

    @model_validator(mode="after")
    def _order(self) -> CapitalBand:
        if self.min_percent > self.max_percent:
            raise ValueError(f"min_percent {self.min_percent} is above max_percent "
                             f"{self.max_percent}")
        return self


class LiveCandidateStageSettings(_Section):
    """live_candidate -> live: 7-30 days on small capital, its daily returns not
    significantly below paper's (one-sided Welch t-test at ``consistency_alpha``)."""

    min_days: Annotated[float, Field(gt=0)] = 7.0
    max_days: Annotated[float, Field(gt=0)] = 30.0
    capital: CapitalBand = CapitalBand(min_percent=1.0, max_percent=5.0)
    consistency_alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    max_drawdown_percent: Annotated[float, Field(gt=0, le=100)] = 15.0

    @model_validator(mode="after")
    def _days(self) -> LiveCandidateStageSettings:
        if self.min_days > self.max_days:
            raise ValueError(f"min_days {self.min_days} is above max_days {self.max_days}")
        return self


class LiveStageSettings(_Section):
    """live: capital by performance within the band."""

    capital: CapitalBand = CapitalBand(min_percent=5.0, max_percent=25.0)


class ReviewSettings(_Section):
    """live -> under_review -> retired (or back to live): sustained degradation over the last
    ``window_days``: the probabilistic Sharpe (P(true Sharpe > 0)) below ``min_probability``,
    a drawdown breach or a loss streak; back to live once it recovers to
    ``recover_probability``, retired after ``max_days`` under review or a second breach."""

    window_days: Annotated[float, Field(ge=7)] = 30.0
    min_probability: Fraction = 0.5
    recover_probability: Fraction = 0.8
    max_drawdown_percent: Annotated[float, Field(gt=0, le=100)] = 15.0
    max_loss_streak: Annotated[int, Field(ge=1)] = 8
    max_days: Annotated[float, Field(gt=0)] = 30.0


class GraduationSettings(_Section):
    """Strategy graduation (seed 000): candidate -> backtested -> paper -> live_candidate ->
    live -> under_review -> retired. Candidates: ``strategies`` (empty: every rule strategy of
    the library) x the configured symbols x ``timeframes``."""

    strategies: list[str] = Field(default_factory=list)
    timeframes: list[TimeframeName] = Field(default_factory=lambda: ["15m", "1h", "4h"],
                                            min_length=1)
    # the pipeline inside paper/testnet/live sessions (tradeloop run): it starts after Wipe
    # Data (or in a session whose pipeline is empty) and puts paper instances beside the
    # session's own strategy
    in_session: bool = True
    review_hours: Annotated[float, Field(gt=0)] = 24.0  # stages and allocations reviewed
    start_delay_seconds: Annotated[float, Field(ge=0)] = 60.0  # after Wipe Data
    discovery_hours: Annotated[float, Field(ge=0)] = 24.0  # re-test on new data; 0 = off
    cash_reserve_percent: Annotated[float, Field(ge=0, lt=100)] = 20.0
    # optimised variants: an optuna study per rule strategy x symbol x timeframe on the
    # latest lookback every optimise_days; each trial counts as a backtest judged. 0 = off
    optimise_trials: Annotated[int, Field(ge=0, le=10_000)] = 0
    optimise_days: Annotated[float, Field(gt=0)] = 30.0
    backtest: BacktestStageSettings = BacktestStageSettings()
    paper: PaperStageSettings = PaperStageSettings()
    live_candidate: LiveCandidateStageSettings = LiveCandidateStageSettings()
    live: LiveStageSettings = LiveStageSettings()
    review: ReviewSettings = ReviewSettings()

    @field_validator("strategies")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from tradeloop.strategies.catalog import spec_of

        for name in value:
            try:
                spec_of(name)
            except TradeloopError as exc:
                raise ValueError(str(exc)) from None
        if len(set(value)) != len(value):
            raise ValueError("a strategy is listed more than once")
        return value
