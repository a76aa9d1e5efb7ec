"""The data and database tools the CLI drives, as the composition root provides them: CSV
import, ccxt download (behind our rate limiter), synthetic markets, and database maintenance
(check, backup, upgrade)."""

from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.adapters.market_data import csv_files, downloader
from tradeloop.adapters.market_data.synthetic import DEFAULT_START_MS, synth_market
from tradeloop.adapters.store import database

__all__ = ["DEFAULT_START_MS", "RateLimiter", "csv_files", "database", "downloader",
           "synth_market"]
