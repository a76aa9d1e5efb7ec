"""Live calibration: the recorded forecasts whose outcome is known by now, scored.

For each symbol's gate (``confidence_history``: P(up) at every decision) and each model
(``predictions``: P(down), P(up) per closed candle), the outcome is the move over the shared
horizon after the forecast's candle closed (``domain/horizon.py``), read from the stored candles;
forecasts whose horizon has not passed yet are left out. Reported as directional ECE, hit
rate and reliability curve (``domain/reliability.py``) — in the monitor, the JSON report, the
dashboard and the ``calibration`` health check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.adapters.store.schema import ConfidenceHistoryRow, PredictionRow
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.horizon import label_plan
from tradeloop.domain.reliability import Reliability, reliability
from tradeloop.domain.timeframes import Timeframe
from tradeloop.domain.timestamps import ms_of
from tradeloop.ml.labels import closes_at, dead_band
from tradeloop.settings import Settings


@dataclass(frozen=True)
class CalibrationSpec:
    """What an outcome is: the horizon, the series it is read from and the fee band."""

    exchange: str
    horizon: Timeframe
    timeframes: list[str]
    band: float

    @classmethod
    def of(cls, settings: Settings) -> CalibrationSpec:
        m = settings.model
        return cls(settings.exchange.name, Timeframe.parse(m.horizon),
                   settings.timeframes.names, dead_band(m.fee_bps, m.slippage_bps))


@dataclass(frozen=True)
class LiveCalibration:
    """Reliability of each symbol's gate and of each (symbol, timeframe) model."""

    gates: dict[str, Reliability]
    models: dict[tuple[str, str], Reliability]

    def as_dict(self) -> dict[str, Any]:
        return {"gates": {s: r.as_dict() for s, r in self.gates.items()},
                "models": {f"{s} {tf}": r.as_dict() for (s, tf), r in self.models.items()}}

    def worst_gate(self, min_samples: int) -> tuple[str, Reliability] | None:
        """The gate with the largest directional ECE among those with enough outcomes."""
        judged = [(s, r) for s, r in self.gates.items() if r.samples >= min_samples]
        return max(judged, key=lambda sr: sr[1].ece) if judged else None


def _closes_at(candles: CandleArrays, step_ms: int, close_ms: np.ndarray) -> np.ndarray:
    return closes_at(candles.open_time, candles.close, step_ms, close_ms)


def live_calibration(engine: Engine, spec: CalibrationSpec, symbols: list[str],
                     since: datetime, now: datetime, deployment_id: int | None = None
                     ) -> LiveCalibration:
    """Score the forecasts made in ``[since, now]`` whose horizon has passed."""
    store = CandleStore(engine)
    h = spec.horizon.ms
    lo, hi = ms_of(since), ms_of(now)
    finest = min(Timeframe.parse(t) for t in spec.timeframes)
    gates: dict[str, Reliability] = {}
    models: dict[tuple[str, str], Reliability] = {}
    cache: dict[str, CandleArrays] = {}

    def series(symbol: str, tf: Timeframe) -> CandleArrays:
        key = f"{symbol} {tf.name}"
        if key not in cache:
            cache[key] = store.load(SeriesKey(spec.exchange, symbol, tf.name),
                                    lo - 2 * tf.ms - 86_400_000, hi + h + tf.ms)
        return cache[key]

    with engine.connect() as conn:
        for symbol in symbols:
            rows = conn.execute(
                select(ConfidenceHistoryRow.timestamp, ConfidenceHistoryRow.confidence_score,
                       ConfidenceHistoryRow.direction)
                .where(ConfidenceHistoryRow.symbol == symbol,
                       ConfidenceHistoryRow.timestamp >= since,
                       ConfidenceHistoryRow.timestamp <= now)
                .order_by(ConfidenceHistoryRow.timestamp, ConfidenceHistoryRow.id)).all()
            last: dict[int, tuple[float, str]] = {}  # the last decision at each instant
            for t, score, direction in rows:
                last[ms_of(t)] = (float(score), str(direction))
            if last:
                at = np.fromiter(last, dtype=np.int64)
                c = series(symbol, finest)
                fwd = np.log(_closes_at(c, finest.ms, at + h) / _closes_at(c, finest.ms, at))
                p_up = np.array([v[0] for v in last.values()])
                calls = np.array([{"up": 1, "down": -1}.get(v[1], 0) for v in last.values()])
                r = reliability(p_up, None, fwd, spec.band, calls=calls)
                if r is not None:
                    gates[symbol] = r
            q = (select(PredictionRow.timeframe, PredictionRow.candle_time, PredictionRow.p_down,
                        PredictionRow.p_up)
                 .where(PredictionRow.symbol == symbol, PredictionRow.timestamp >= since,
                        PredictionRow.timestamp <= now))
            if deployment_id is not None:
                q = q.where(PredictionRow.deployment_id == deployment_id)
            by_tf: dict[str, list[tuple[int, float, float]]] = {}
            for tf_name, candle_time, down, up in conn.execute(q).all():
                by_tf.setdefault(str(tf_name), []).append((int(candle_time), float(down),
                                                           float(up)))
            for tf_name, preds in sorted(by_tf.items()):
                tf = Timeframe.parse(tf_name)
                plan = label_plan(tf, spec.horizon, spec.timeframes)
                arr = np.array(preds)
                closed = arr[:, 0].astype(np.int64) + tf.ms
                now_close = _closes_at(series(symbol, tf), tf.ms, closed)
                later = _closes_at(series(symbol, plan.label_timeframe), plan.label_timeframe.ms,
                                   closed + h)
                scored = reliability(arr[:, 2], arr[:, 1], np.log(later / now_close),
                                     spec.band)
                if scored is not None:
                    models[(symbol, tf_name)] = scored
    return LiveCalibration(gates, models)
