"""Start-up recovery of a run's broker: nothing an earlier run left open is forgotten.

An exchange account is reconciled with the database (``adapters/broker/reconciliation.py``);
a paper account takes back the positions a crashed paper run left open (paid from its cash)
and gives up the orders it had not filled yet; a replay starts from nothing. Deployments left
``running`` by a dead process are marked ``crashed`` by the session before this runs.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from tradeloop.adapters.broker.ccxt_broker import CcxtBroker
from tradeloop.adapters.broker.reconciliation import reconcile
from tradeloop.adapters.broker.sim import SimBroker
from tradeloop.adapters.store.order_journal import OrderJournal
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.domain.trading import BrokerEvents, Position
from tradeloop.ports import Broker, Notifier

log = logging.getLogger("tradeloop.recovery")


def nothing_to_recover(broker: Broker, now: int) -> BrokerEvents:
    """A replay: its simulated account starts empty."""
    return BrokerEvents([], [])


class PaperRecovery:
    """Positions a crashed paper run of these symbols left open are carried over; its
    unfilled orders are canceled."""

    def __init__(self, db: Engine, broker: SimBroker, store: TradingStore, mode: str,
                 symbols: list[str], deployment_id: int) -> None:
        self.db, self.sim, self.store, self.mode = db, broker, store, mode
        self.symbols, self.deployment_id = symbols, deployment_id

    def __call__(self, broker: Broker, now: int) -> BrokerEvents:
        journal = OrderJournal(self.db, self.mode, self.deployment_id)
        ids: dict[str, int] = {}
        for p in journal.open_positions():
            if p.symbol in self.symbols and p.symbol not in self.sim.positions:
                self.sim.adopt(Position(p.symbol, p.quantity, p.entry_price, p.entry_ms,
                                        p.fees, p.stop_loss, p.take_profit, 0.0,
                                        p.client_order_id or ""))
                ids[p.symbol] = p.id
                log.info("[%s] paper position carried over: %.8g @ %.8g", p.symbol,
                         p.quantity, p.entry_price)
        self.store.adopt_positions(ids)
        for o in journal.unresolved():
            if o.symbol in self.symbols:
                journal.update(o.client_order_id, now, status="canceled",
                               reason="the engine stopped before it was filled")
        return BrokerEvents([], [])


class ExchangeRecovery:
    """The exchange account reconciled with the database before trading starts."""

    def __init__(self, broker: CcxtBroker, store: TradingStore, notifier: Notifier | None
                 ) -> None:
        self.ccxt, self.store, self.notifier = broker, store, notifier

    def __call__(self, broker: Broker, now: int) -> BrokerEvents:
        b = self.ccxt
        rec = reconcile(b, now)
        self.store.adopt_positions(rec.position_ids)
        for line in rec.lines:
            log.info("reconciliation: %s", line)
        for problem in rec.problems:
            log.warning("reconciliation: %s", problem)
            self.store.error(now, "Reconciliation", problem, None, None, "broker")
            if self.notifier is not None:
                self.notifier.notify("warning", "Reconciliation", problem)
        log.info("✓ reconciled with the exchange: %d open position(s), %d order(s) pending, "
                 "%d problem(s)", len(b.positions), len(b.pending), len(rec.problems))
        return rec.events
