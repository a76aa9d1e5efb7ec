"""Brokers: the simulated book (replay, paper) and, later, ccxt (testnet, live)."""
