"""Market data sources: CSV files, ccxt exchanges, the synthetic market."""
