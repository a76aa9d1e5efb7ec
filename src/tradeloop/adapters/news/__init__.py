"""News sources: RSS/Atom feeds and the CryptoPanic API, through one HTTP edge."""
