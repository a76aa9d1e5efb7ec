"""The exchange edge: ccxt clients, rate limiting, retries, circuit breaker, metrics."""
