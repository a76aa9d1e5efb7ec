"""tradeloop."""
