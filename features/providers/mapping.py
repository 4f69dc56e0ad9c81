"""Which provider and symbol feed each series id: defaults plus an optional TOML file.

A sources file overrides or adds entries, e.g. ETFs instead of COMEX futures::

    [series.silver_usd]
    provider = "yahoo"
    symbol = "SLV"

    [series.copper_usd]          # a new series id (file stem, lower case)
    provider = "yahoo"
    symbol = "HG=F"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from features.errors import ConfigError

PROVIDERS: tuple[str, ...] = ("yahoo", "fred")
_SERIES_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class SourceSpec:
    """Where one series is downloaded from.

    Attributes
    ----------
    series_id : str
        Column of the raw panel and stem of its cache/export file.
    provider : {"yahoo", "fred"}
        Data provider.
    symbol : str
        The provider's identifier (Yahoo symbol or FRED series id).
    """

    series_id: str
    provider: str
    symbol: str

    @property
    def label(self) -> str:
        """``provider:symbol``, e.g. ``yahoo:SI=F``."""
        return f"{self.provider}:{self.symbol}"


DEFAULT_SOURCES: dict[str, SourceSpec] = {
    s.series_id: s
    for s in (
        SourceSpec("btc_usd", "yahoo", "BTC-USD"),
        SourceSpec("silver_usd", "yahoo", "SI=F"),
        SourceSpec("gold_usd", "yahoo", "GC=F"),
        SourceSpec("dxy", "yahoo", "DX-Y.NYB"),
        SourceSpec("vix", "yahoo", "^VIX"),
        SourceSpec("sp500", "yahoo", "^GSPC"),
        SourceSpec("dgs10", "fred", "DGS10"),
        SourceSpec("dgs2", "fred", "DGS2"),
        SourceSpec("dfii10", "fred", "DFII10"),
        SourceSpec("t10yie", "fred", "T10YIE"),
        SourceSpec("usd_broad", "fred", "DTWEXBGS"),
        SourceSpec("walcl", "fred", "WALCL"),
        SourceSpec("m2sl", "fred", "M2SL"),
    )
}


def load_sources(path: Path | None = None) -> dict[str, SourceSpec]:
    """The default mapping, updated by the ``[series.<id>]`` tables of a TOML file.

    Parameters
    ----------
    path : Path, optional
        Sources file; ``None`` returns the defaults.

    Returns
    -------
    dict of str to SourceSpec
        Series id to source, defaults first, added series last.

    Raises
    ------
    ConfigError
        Missing or invalid file, unknown keys, an unknown provider or an empty symbol.
    """
    sources = dict(DEFAULT_SOURCES)
    if path is None:
        return sources
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"sources file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"sources file {path}: cannot read TOML ({exc})") from None
    extra = set(raw) - {"series"}
    if extra or not isinstance(raw.get("series", {}), dict):
        raise ConfigError(f"sources file {path}: expected only [series.<id>] tables, got {sorted(extra) or 'series'}")
    for sid, entry in raw.get("series", {}).items():
        sources[sid] = _entry(path, sid, entry)
    return sources


def _entry(path: Path, sid: str, entry: object) -> SourceSpec:
    where = f"sources file {path}, [series.{sid}]"
    if not _SERIES_ID.match(sid):
        raise ConfigError(f"{where}: series id must be lower case letters, digits and '_'")
    if not isinstance(entry, dict) or set(entry) != {"provider", "symbol"}:
        keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ConfigError(f"{where}: expected exactly the keys provider and symbol, got {keys}")
    provider, symbol = entry["provider"], entry["symbol"]
    if provider not in PROVIDERS:
        raise ConfigError(f"{where}: provider must be one of {', '.join(PROVIDERS)}, got '{provider}'")
    if not isinstance(symbol, str) or not symbol.strip():
        raise ConfigError(f"{where}: symbol must be a non-empty string")
    return SourceSpec(sid, provider, symbol.strip())
