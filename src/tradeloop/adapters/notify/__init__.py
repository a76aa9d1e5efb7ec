"""Operator alerts: adapters of the Notifier port."""
