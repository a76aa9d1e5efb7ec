"""Start-up recovery of a session after a crash or a stop: nothing open is forgotten.

Deployments left ``running`` by a process that died are marked ``crashed`` (this process
holds the data folder's lock, so none of them can still run). An exchange account is
reconciled with the database (:meth:`CcxtBroker.reconcile`); a paper account takes back the
positions a crashed paper run left open (paid from its cash) and gives up the orders it had
not filled yet.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import Engine, select, update

from tradeloop.adapters.broker.ccxt_broker import CcxtBroker
from tradeloop.adapters.broker.sim import SimBroker
from tradeloop.adapters.store.order_journal import OrderJournal
from tradeloop.adapters.store.schema import DeploymentRow
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.domain.trading import BrokerEvents, Position
from tradeloop.ports import Notifier

log = logging.getLogger("tradeloop.recovery")


def mark_crashed(db: Engine, current: int) -> list[int]:
    """Mark deployments still ``running`` (other than ``current``) as ``crashed``."""
    with db.begin() as conn:
        rows = conn.execute(select(DeploymentRow.id, DeploymentRow.notes).where(
            DeploymentRow.status == "running", DeploymentRow.id != current)).all()
        for pk, notes in rows:
            data = json.loads(notes) if notes else {}
            data["stopped_by"] = "crash (found at the next start)"
            conn.execute(update(DeploymentRow).where(DeploymentRow.id == pk).values(
                status="crashed", notes=json.dumps(data, default=str)))
    return [int(r[0]) for r in rows]


def recover(db: Engine, broker: SimBroker | CcxtBroker, store: TradingStore, mode: str,
            symbols: list[str], deployment_id: int, now: int, notifier: Notifier | None
            ) -> BrokerEvents:
    """Bring ``broker`` and ``store`` up to date with what earlier runs left; returns the
    fills and closed trades found on the way (for the engine to record)."""
    crashed = mark_crashed(db, deployment_id)
    if crashed:
        log.warning("deployment(s) %s had ended without closing: marked crashed",
                    ", ".join(map(str, crashed)))
    if mode == "replay":
        return BrokerEvents([], [])
    if isinstance(broker, CcxtBroker):
        rec = broker.reconcile(now)
        store.adopt_positions(rec.position_ids)
        for line in rec.lines:
            log.info("reconciliation: %s", line)
        for problem in rec.problems:
            log.warning("reconciliation: %s", problem)
            store.error(now, "Reconciliation", problem, None, None, "broker")
            if notifier is not None:
                notifier.notify("warning", "Reconciliation", problem)
        log.info("✓ reconciled with the exchange: %d open position(s), %d order(s) pending, "
                 "%d problem(s)", len(broker.positions), len(broker.pending),
                 len(rec.problems))
        return rec.events
    journal = OrderJournal(db, mode, deployment_id)
    ids: dict[str, int] = {}
    for p in journal.open_positions():
        if p.symbol in symbols and p.symbol not in broker.positions:
            broker.adopt(Position(p.symbol, p.quantity, p.entry_price, p.entry_ms, p.fees,
                                  p.stop_loss, p.take_profit, 0.0, p.client_order_id or ""))
            ids[p.symbol] = p.id
            log.info("[%s] paper position carried over: %.8g @ %.8g", p.symbol, p.quantity,
                     p.entry_price)
    store.adopt_positions(ids)
    for o in journal.unresolved():
        if o.symbol in symbols:
            journal.update(o.client_order_id, now, status="canceled",
                           reason="the engine stopped before it was filled")
    return BrokerEvents([], [])
