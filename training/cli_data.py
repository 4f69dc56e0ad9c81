"""``regime data ...``: fetch, inspect and export market data (placeholder until live sources land)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Fetch, inspect and export the raw market data.", no_args_is_help=True)
