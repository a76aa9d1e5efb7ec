"""Adapters: the only code that touches databases, exchanges, MLflow and the wall clock."""
