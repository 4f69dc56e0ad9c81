"""The names of the regime layer's options (no heavy imports: the config checks against these)."""

ENGINES: tuple[str, ...] = ("hmm",)
COVARIANCE_TYPES: tuple[str, ...] = ("diag", "full")
