"""Health checks of a running deployment and their schedule (the queries they read are the
store's: ``adapters/store/deployment_metrics.py``)."""
