"""What the operators' tools read (``monitor_production.py``, ``dashboard.py``): the store's
read models of deployments, as the composition root provides them."""

from tradeloop.adapters.store import dashboard_queries
from tradeloop.adapters.store.monitor_queries import View, collect

__all__ = ["View", "collect", "dashboard_queries"]
