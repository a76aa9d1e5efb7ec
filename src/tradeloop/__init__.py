"""tradeloop: continuous-learning ML trading system."""

__version__ = "0.1.0"
