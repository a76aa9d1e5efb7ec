"""Phased rollout: pre-deployment checks (phases, health checks and rollback build on them)."""
