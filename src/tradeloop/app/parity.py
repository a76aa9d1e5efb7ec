"""``tradeloop parity --deployment N``: replay the candles a deployment stored with the model
versions that served it, through the same engine and runner, and compare its predictions,
orders and mode changes one by one. The report goes to ``production_reports/`` and the
``parity_reports`` table (the monitor and the dashboard show the latest)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from tradeloop.adapters.broker.sim import SimBroker
from tradeloop.adapters.clock import SimClock
from tradeloop.adapters.market_data.replay import ReplayMarketData
from tradeloop.adapters.registry.champion_files import ChampionFiles
from tradeloop.adapters.store.deployment_records import DeploymentRecords
from tradeloop.adapters.store.parity_records import ParityRecords
from tradeloop.app.news import news_features
from tradeloop.deploy.parity import RecordedRetrains, RecordingStore, ServedVersions
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.deployment_metrics import initial_equity
from tradeloop.domain.errors import DeploymentError
from tradeloop.domain.parity import ParityReport, compare
from tradeloop.domain.timestamps import ms_of
from tradeloop.engine.assembly import run_warmup, wire_engine
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.runner import Runner
from tradeloop.ml.predictor import ChampionPredictor
from tradeloop.ports import StoreHandle
from tradeloop.settings import Settings

HEARTBEAT_MS = 1000  # the replay's housekeeping cadence (a live loop's is a few seconds)


def run_parity(settings: Settings, handle: StoreHandle, deployment_id: int
               ) -> tuple[ParityReport, Path]:
    """Replay deployment ``deployment_id`` and compare; returns the report and its file."""
    row = DeploymentRecords(handle.engine).get(deployment_id)
    if row is None:
        raise DeploymentError(f"no deployment {deployment_id} (see `python "
                              f"deploy_production.py --status`)")
    records = ParityRecords(handle.engine)
    live_predictions = records.predictions(deployment_id)
    live_orders = records.orders(deployment_id)
    if not live_predictions and not live_orders:
        raise DeploymentError(f"deployment {deployment_id} recorded no predictions and no "
                              f"orders to compare (deployments before schema 0007 did not "
                              f"record which deployment a prediction belongs to)")
    notes = json.loads(row.notes) if row.notes else {}
    if not isinstance(notes, dict):
        notes = {}
    start = ms_of(row.started_at)
    end = ms_of(row.ended_at) if row.ended_at is not None else max(
        [p.time_ms for p in live_predictions] + [o.time_ms for o in live_orders])
    symbols = row.symbols.split(",")
    models = Path(notes["replay"]["models"]) if isinstance(notes.get("replay"), dict) and \
        "models" in notes["replay"] else settings.path(settings.paths.models_dir)
    clock = SimClock(start)
    keys = [SeriesKey(settings.exchange.name, s, tf) for s in symbols
            for tf in settings.timeframes.names]
    market = ReplayMarketData(handle.candles, keys, start, end,
                              warmup_bars=run_warmup(settings), clock=clock,
                              heartbeat_ms=HEARTBEAT_MS)
    registry = ServedVersions(settings, live_predictions, ChampionFiles(models).model_file,
                              clock)
    store = RecordingStore()
    t = settings.trading
    broker = SimBroker(initial_equity(row.notes, t.initial_balance), t.fee_bps,
                       t.slippage_bps)
    engine, _ = wire_engine(settings, symbols, book=CandleBook(),
                            predictor=ChampionPredictor(registry, news_features(settings, handle)),
                            broker=broker, store=store,
                            runner=RecordedRetrains(records.retrains(deployment_id), clock),
                            run_id=f"parity-d{deployment_id}",
                            strategy=str(notes.get("strategy") or t.strategy),
                            equity_sample_ms=int(settings.deployment.snapshot_seconds * 1000),
                            history_limit=1)
    Runner(engine, market, clock).run()
    report = compare(deployment_id, row.mode, start, end,
                     live_predictions=live_predictions, replay_predictions=store.predictions,
                     live_orders=live_orders, replay_orders=store.orders,
                     live_transitions=records.transitions(deployment_id),
                     replay_transitions=store.transitions)
    folder = settings.path(settings.paths.reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"parity_deployment{deployment_id}_{datetime.now(UTC):%Y%m%d_%H%M%S}.json"
    doc = {**report.as_dict(), "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    records.save(report.summary(), int(time.time() * 1000), str(path))
    return report, path
