"""Retraining jobs and their outcomes, as the engine, the workers and the store see them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetrainJob:
    symbol: str
    timeframe: str
    reason: str
    triggered_ms: int

    @property
    def key(self) -> str:
        """The job's identity: a retried job registers its model once (its runs' tag)."""
        return f"{self.symbol}|{self.timeframe}|{self.reason}|{self.triggered_ms}"


@dataclass(frozen=True)
class RetrainResult:
    symbol: str
    timeframe: str
    version: str | None
    run_id: str | None
    promoted: bool
    reason: str
    validation_confidence: float | None = None
    validation_accuracy: float | None = None
    seconds: float = 0.0
    error: str | None = None
    # the paired test against the champion: log-loss improvement (champion - challenger, nats
    # per sample), its 95 % interval, one-sided p-value and the fresh samples compared
    effect: float | None = None
    effect_low: float | None = None
    effect_high: float | None = None
    p_value: float | None = None
    compared_samples: int | None = None

    @property
    def refreshed(self) -> bool:
        """Whether the series' champion is current after this retrain: a new one was made
        champion, or the paired test on fresh data kept the old one (a retrain that trained
        nothing, or compared nothing, leaves its age as it was)."""
        return self.error is None and self.version is not None and (
            self.promoted or bool(self.compared_samples))


def retraining_row(job: RetrainJob, res: RetrainResult, finished_ms: int) -> dict[str, object]:
    """A ``retraining_history`` row (times in ms). In replay simulated time does not move
    while a model trains, so ``finished_at`` equals ``triggered_at`` there; the wall time is
    the duration."""
    return {
        "symbol": job.symbol, "timeframe": job.timeframe, "trigger_reason": job.reason,
        "triggered_at": job.triggered_ms, "finished_at": max(finished_ms, job.triggered_ms),
        "duration_seconds": res.seconds, "status": "failed" if res.error else "done",
        "validation_confidence": res.validation_confidence,
        "validation_accuracy": res.validation_accuracy, "promoted": res.promoted,
        "mlflow_run_id": res.run_id, "model_version": res.version, "error": res.error,
        "notes": res.reason, "promotion_effect": res.effect,
        "promotion_ci_low": res.effect_low, "promotion_ci_high": res.effect_high,
        "promotion_p_value": res.p_value, "promotion_samples": res.compared_samples}
