"""Raw market data sources and point-in-time features."""
