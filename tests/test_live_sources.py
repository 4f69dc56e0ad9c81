"""The live source: provider adapters on stored payloads, the sources mapping, load_live_panel and `regime data`."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
import pandas as pd
import pytest
import requests
from conftest import run_cli
from typer.testing import CliRunner

from features import cache
from features.config import DataConfig
from features.csv_source import read_csv_folder
from features.errors import ConfigError, DataError
from features.live import load_live_panel, update_all
from features.providers import (
    DEFAULT_SOURCES,
    NetworkError,
    ProviderError,
    SourceSpec,
    fetch_series,
    fred,
    http,
    yahoo,
)
from features.providers.mapping import load_sources
from features.series import CATALOG, CORE_SERIES, OPTIONAL_SERIES
from training.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "live"
NOW = pd.Timestamp("2024-06-03 22:00", tz="UTC")


def _offline(url: str) -> str:
    raise NetworkError(f"cannot reach {url} (ConnectionError)")


def _refuse(*args: object, **kwargs: object) -> None:
    raise requests.ConnectionError("tests never use the network")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any code path that reaches the real HTTP fetcher finds the network down."""
    monkeypatch.setattr(http.requests, "get", _refuse)


class FakeMarket:
    """Answers Yahoo chart and FRED CSV requests for any symbol with a deterministic history.

    Values depend only on the date (no spurious revisions); BTC trades every day, other Yahoo
    symbols on business days, FRED's WALCL on Wednesdays, M2SL monthly, the rest on business days.
    """

    first = pd.Timestamp("2023-01-02")

    def __init__(self, last: str = "2024-05-31") -> None:
        self.last = pd.Timestamp(last)
        self.urls: list[str] = []

    def __call__(self, url: str) -> str:
        self.urls.append(url)
        parsed = urlparse(url)
        query = parse_qs(parsed.query)
        if parsed.netloc == "query1.finance.yahoo.com":
            symbol = unquote(parsed.path.rsplit("/", 1)[-1])
            start = max(self.first, pd.Timestamp(int(query["period1"][0]), unit="s").normalize())
            freq = "D" if symbol == "BTC-USD" else "B"
            days = pd.date_range(start, self.last, freq=freq)
            chart = {"meta": {"symbol": symbol, "exchangeTimezoneName": "UTC" if symbol == "BTC-USD" else "America/New_York"},
                     "timestamp": [int((d + pd.Timedelta(hours=4)).timestamp()) for d in days],
                     "indicators": {"quote": [{"close": [self.value(d) for d in days]}]}}
            return json.dumps({"chart": {"result": [chart], "error": None}})
        symbol = query["id"][0]
        freq = {"WALCL": "W-WED", "M2SL": "MS"}.get(symbol, "B")
        days = pd.date_range(max(self.first, pd.Timestamp(query["cosd"][0])), self.last, freq=freq)
        return f"observation_date,{symbol}\n" + "".join(f"{d:%Y-%m-%d},{self.value(d)}\n" for d in days)

    def value(self, day: pd.Timestamp) -> float:
        return round(10 + (day - self.first).days * 0.01, 2)


def _payload(name: str) -> str:
    return (FIXTURES / name).read_text()


# -- Yahoo ----------------------------------------------------------------------------------


def test_yahoo_parses_dates_in_exchange_time_and_drops_null_and_unfinished_bars() -> None:
    during = yahoo.parse_chart(_payload("yahoo_chart_si_f.json"), "SI=F", pd.Timestamp("2024-05-06 15:31", tz="UTC"))
    assert list(during.index.strftime("%Y-%m-%d")) == ["2024-04-29", "2024-04-30", "2024-05-02", "2024-05-03"]
    assert list(during) == [27.53, 26.59, 26.6, 26.67]  # float32 noise removed
    assert during.index.name == "date" and during.dtype == float
    after = yahoo.parse_chart(_payload("yahoo_chart_si_f.json"), "SI=F", pd.Timestamp("2024-05-06 21:00", tz="UTC"))
    assert after.index[-1] == pd.Timestamp("2024-05-06") and after.iloc[-1] == 27.37


def test_yahoo_btc_bars_are_utc_days() -> None:
    btc = yahoo.parse_chart(_payload("yahoo_chart_btc_usd.json"), "BTC-USD", pd.Timestamp("2024-05-04 12:10", tz="UTC"))
    assert btc.index[0] == pd.Timestamp("2024-04-28") and btc.index[-1] == pd.Timestamp("2024-05-03")
    assert len(btc) == 6 and btc.loc["2024-05-01"] == 58254.01


def test_yahoo_unknown_symbol_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="Yahoo 'NOPE=F': Not Found: No data found, symbol may be delisted"):
        yahoo.parse_chart(_payload("yahoo_chart_not_found.json"), "NOPE=F", NOW)


@pytest.mark.parametrize("text", ["<html>Will be right back</html>", '{"finance": {"error": "x"}}'])
def test_yahoo_non_chart_payloads_are_provider_errors(text: str) -> None:
    with pytest.raises(ProviderError, match="Yahoo 'SI=F': response is not a chart payload"):
        yahoo.parse_chart(text, "SI=F", NOW)


def test_yahoo_window_without_bars_is_empty() -> None:
    text = '{"chart":{"result":[{"meta":{"exchangeTimezoneName":"America/New_York"},"indicators":{"quote":[{}]}}],"error":null}}'
    assert yahoo.parse_chart(text, "SI=F", NOW).empty


def test_yahoo_falls_back_to_gmt_offset_and_keeps_the_last_bar_of_a_date() -> None:
    stamps = [int(pd.Timestamp(t).timestamp()) for t in ("2024-05-02 13:30Z", "2024-05-03 13:30Z", "2024-05-03 20:00Z")]
    text = json.dumps({"chart": {"result": [{"meta": {"exchangeTimezoneName": "Nowhere/Land", "gmtoffset": -14400},
                                             "timestamp": stamps, "indicators": {"quote": [{"close": [1.5, 2.0, 2.25]}]}}],
                                 "error": None}})
    s = yahoo.parse_chart(text, "GLD", NOW)
    assert list(s.index.strftime("%Y-%m-%d")) == ["2024-05-02", "2024-05-03"] and list(s) == [1.5, 2.25]


def test_yahoo_url_encodes_the_symbol_and_the_window() -> None:
    url = yahoo.chart_url("^VIX", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02", tz="UTC"))
    assert url == ("https://query1.finance.yahoo.com/v8/finance/chart/%5EVIX"
                   "?period1=1704067200&period2=1704153600&interval=1d&includePrePost=false")


# -- FRED -----------------------------------------------------------------------------------


def test_fred_csv_drops_dot_markers() -> None:
    s = fred.parse_observations(_payload("fred_dgs10.csv"), "DGS10")
    assert len(s) == 9 and pd.Timestamp("2024-05-27") not in s.index
    assert s.loc["2024-05-24"] == 4.46 and s.index[-1] == pd.Timestamp("2024-05-31")


def test_fred_json_api_gives_the_same_series() -> None:
    pd.testing.assert_series_equal(fred.parse_observations(_payload("fred_dgs10.json"), "DGS10"),
                                   fred.parse_observations(_payload("fred_dgs10.csv"), "DGS10"))


def test_fred_csv_accepts_the_legacy_header_and_empty_cells() -> None:
    s = fred.parse_observations("DATE,WALCL\n2024-05-01,7362\n2024-05-08,\n", "WALCL")
    assert list(s) == [7362.0]


@pytest.mark.parametrize("text,message", [
    ("<!DOCTYPE html><html>Series not found</html>", "expected a CSV with header 'observation_date,DGS10'"),
    ("observation_date,DGS2\n2024-05-20,4.8\n", "expected a CSV with header"),
    ("observation_date,DGS10\n2024-05-20,4.x\n", "cannot parse value '4.x'"),
    ("observation_date,DGS10\n20/05/2024,4.4\n", "cannot parse date '20/05/2024'"),
    ('{"error_code":400,"error_message":"Bad Request.  The value for variable api_key is not registered."}', "api_key is not registered"),
])
def test_fred_bad_responses_are_provider_errors(text: str, message: str) -> None:
    with pytest.raises(ProviderError, match=f"FRED 'DGS10': .*{message.replace('(', '.').replace(')', '.')}"):
        fred.parse_observations(text, "DGS10")


def test_fred_url_uses_the_api_only_with_a_key_and_the_key_is_redacted() -> None:
    assert fred.observations_url("DGS10", pd.Timestamp("2024-05-14")) == \
        "https://fred.stlouisfed.org/graph/fredgraph.csv?id=DGS10&cosd=2024-05-14"
    url = fred.observations_url("DGS10", pd.Timestamp("2024-05-14"), api_key="s3cret")
    assert url.startswith("https://api.stlouisfed.org/fred/series/observations?series_id=DGS10") and "api_key=s3cret" in url
    assert "s3cret" not in http.redact(url) and "api_key=***" in http.redact(url)


def test_fetch_series_routes_to_the_provider_and_redacts_the_key() -> None:
    seen: list[str] = []

    def fetcher(url: str) -> str:
        seen.append(url)
        return _payload("fred_dgs10.json") if "api.stlouisfed.org" in url else _payload("yahoo_chart_si_f.json")

    s, url = fetch_series(SourceSpec("dgs10", "fred", "DGS10"), pd.Timestamp("2024-05-20"), NOW, fetcher, "s3cret")
    assert len(s) == 9 and "api_key=***" in url and "api_key=s3cret" in seen[0]
    s, url = fetch_series(DEFAULT_SOURCES["silver_usd"], pd.Timestamp("2024-04-29"), NOW, fetcher)
    assert len(s) == 5 and "SI%3DF" in url


# -- HTTP -----------------------------------------------------------------------------------


class _Response:
    def __init__(self, status: int, text: str) -> None:
        self.status_code, self.text, self.ok = status, text, 200 <= status < 300


def test_http_maps_connection_failures_and_http_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NetworkError, match=r"cannot reach https://x\.invalid/a\?api_key=\*\*\* \(ConnectionError\)"):
        http.fetch_text("https://x.invalid/a?api_key=s3cret")
    monkeypatch.setattr(http.requests, "get", lambda *a, **k: _Response(404, '{"chart":{"result":null,"error":{"code":"Not Found"}}}'))
    with pytest.raises(ProviderError, match=r"HTTP 404 from https://x\.invalid/a: .*Not Found") as info:
        http.fetch_text("https://x.invalid/a")
    assert not isinstance(info.value, NetworkError)
    calls: list[dict] = []
    monkeypatch.setattr(http.requests, "get", lambda url, **kw: calls.append(kw) or _Response(200, "ok"))
    assert http.fetch_text("https://x.invalid/a") == "ok"
    assert calls[0]["headers"]["User-Agent"].startswith("Mozilla/5.0") and calls[0]["timeout"] > 0


# -- sources mapping ------------------------------------------------------------------------


def test_defaults_cover_every_catalogued_series() -> None:
    assert set(DEFAULT_SOURCES) == set(CATALOG)
    assert DEFAULT_SOURCES["usd_broad"].label == "fred:DTWEXBGS" and DEFAULT_SOURCES["dxy"].label == "yahoo:DX-Y.NYB"


def test_a_sources_file_swaps_and_adds_series(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[series.silver_usd]\nprovider = "yahoo"\nsymbol = "SLV"\n\n'
                    '[series.copper_usd]\nprovider = "yahoo"\nsymbol = "HG=F"\n')
    sources = load_sources(path)
    assert sources["silver_usd"] == SourceSpec("silver_usd", "yahoo", "SLV")
    assert list(sources)[-1] == "copper_usd" and sources["gold_usd"] == DEFAULT_SOURCES["gold_usd"]


@pytest.mark.parametrize("text,message", [
    ('[series.silver_usd]\nprovider = "stooq"\nsymbol = "XAG"\n', "provider must be one of yahoo, fred, got 'stooq'"),
    ('[series.silver_usd]\nprovider = "yahoo"\n', "expected exactly the keys provider and symbol, got \\['provider'\\]"),
    ('[series.Silver]\nprovider = "yahoo"\nsymbol = "SLV"\n', "series id must be lower case"),
    ('[series.silver_usd]\nprovider = "yahoo"\nsymbol = " "\n', "symbol must be a non-empty string"),
    ('[sources]\nx = 1\n', "expected only \\[series.<id>\\] tables"),
    ('[series.silver_usd\n', "cannot read TOML"),
])
def test_bad_sources_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"sources file .*sources.toml.*{message}"):
        load_sources(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_sources(tmp_path / "missing.toml")


# -- load_live_panel ------------------------------------------------------------------------


def test_cold_cache_downloads_every_series_into_a_raw_panel(tmp_path: Path) -> None:
    market = FakeMarket()
    panel = load_live_panel(DataConfig(source="live"), cache_dir=tmp_path, fetch_text=market, now=NOW)
    assert list(panel.columns) == list(DEFAULT_SOURCES) and panel.index.name == "date"
    assert set(panel.dtypes) == {np.dtype(float)} and panel.index.is_monotonic_increasing
    assert panel["btc_usd"].notna().sum() == len(pd.date_range("2023-01-02", "2024-05-31"))
    assert panel.loc["2024-05-04", "btc_usd"] > 0 and np.isnan(panel.loc["2024-05-04", "dgs10"])  # a Saturday
    assert panel["m2sl"].notna().sum() == 16 and len(market.urls) == len(DEFAULT_SOURCES)
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == sorted(f"{s}.csv" for s in DEFAULT_SOURCES)
    assert cache.read_record(tmp_path, "vix").symbol == "^VIX"


def test_warm_cache_works_offline_and_warns_about_staleness(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    online = load_live_panel(DataConfig(source="live"), cache_dir=tmp_path, fetch_text=FakeMarket(), now=NOW)
    attempts: list[str] = []

    def unplugged(url: str) -> str:
        attempts.append(url)
        raise NetworkError("cannot reach the provider (ConnectionError)")

    later = NOW + pd.Timedelta(days=3)
    with caplog.at_level(logging.WARNING):
        offline = load_live_panel(DataConfig(source="live"), cache_dir=tmp_path, fetch_text=unplugged, now=later)
    pd.testing.assert_frame_equal(offline, online)
    assert len(attempts) == 1  # after the first network failure the other series come from the cache
    assert "network unreachable" in caplog.text
    assert ("series 'btc_usd' (yahoo:BTC-USD): download failed (cannot reach the provider (ConnectionError)); "
            "using the cache, fetched 2024-06-03 22:00 UTC (3 days ago), last observation 2024-05-31 (6 days old)") in caplog.text
    assert "series 'm2sl' (fred:M2SL): download failed" in caplog.text


def test_recent_cache_is_not_downloaded_again_but_stale_tails_are_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    load_live_panel(DataConfig(source="live"), cache_dir=tmp_path, fetch_text=FakeMarket(), now=NOW)
    market = FakeMarket()
    with caplog.at_level(logging.WARNING, logger="features.validation"):
        load_live_panel(DataConfig(source="live"), cache_dir=tmp_path, fetch_text=market, now=NOW + pd.Timedelta(hours=2))
    assert market.urls == []
    assert "series 'dgs10' (fred:DGS10): last observation 2024-05-31 is 3 days old" not in caplog.text
    market_lagging = FakeMarket(last="2024-05-20")
    load_live_panel(DataConfig(source="live"), cache_dir=tmp_path / "other", fetch_text=market_lagging, now=NOW)
    assert "series 'dxy' (yahoo:DX-Y.NYB): last observation 2024-05-20 is 14 days old (stale after 5 days" in caplog.text


def test_no_cache_and_no_network_names_the_series_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"8 core series unavailable \(btc_usd, silver_usd, .*vix\); first: series 'btc_usd' "
                                        r"\(yahoo:BTC-USD\): not cached in .*run `regime data fetch --source live` when online"):
        load_live_panel(DataConfig(source="live"), cache_dir=tmp_path, fetch_text=_offline, now=NOW)


def test_one_missing_core_series_is_named_alone(tmp_path: Path) -> None:
    market = FakeMarket()

    def no_vix(url: str) -> str:
        if "%5EVIX" in url:
            raise ProviderError("HTTP 404 from yahoo: Not Found")
        return market(url)

    with pytest.raises(DataError, match=r"^series 'vix' \(yahoo:\^VIX\): not cached in .*HTTP 404"):
        load_live_panel(DataConfig(source="live"), cache_dir=tmp_path, fetch_text=no_vix, now=NOW)


def test_a_failing_optional_series_is_left_out_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    market = FakeMarket()

    def no_m2(url: str) -> str:
        if "M2SL" in url:
            raise ProviderError("HTTP 500 from fred")
        return market(url)

    with caplog.at_level(logging.WARNING, logger="features.live"):
        panel = load_live_panel(DataConfig(source="live"), cache_dir=tmp_path, fetch_text=no_m2, now=NOW)
    assert "m2sl" not in panel.columns and set(CORE_SERIES) <= set(panel.columns)
    assert "series 'm2sl' (fred:M2SL): not cached" in caplog.text and "(optional series left out)" in caplog.text
    assert "m2sl" in OPTIONAL_SERIES


def test_environment_selects_cache_dir_and_sources_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources_file = tmp_path / "sources.toml"
    sources_file.write_text('[series.gold_usd]\nprovider = "yahoo"\nsymbol = "GLD"\n')
    monkeypatch.setenv("REGIME_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REGIME_SOURCES_FILE", str(sources_file))
    market = FakeMarket()
    load_live_panel(DataConfig(source="live"), fetch_text=market, now=NOW)
    assert cache.read_record(tmp_path / "cache", "gold_usd").symbol == "GLD"
    assert any("/chart/GLD?" in u for u in market.urls)


def test_update_all_reports_progress(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    sources = {s: DEFAULT_SOURCES[s] for s in ("btc_usd", "dgs10")}
    updates, errors = update_all(sources, tmp_path, FakeMarket(), NOW, on_progress=lambda *a: calls.append(a))
    assert calls == [("btc_usd", 0, 2), ("dgs10", 1, 2), ("", 2, 2)] and not errors
    assert {u.status for u in updates.values()} == {"downloaded"}


# -- CLI ------------------------------------------------------------------------------------


@pytest.fixture
def warm_cache(tmp_path: Path) -> Path:
    root = tmp_path / "cache"
    load_live_panel(DataConfig(source="live"), cache_dir=root, fetch_text=FakeMarket(), now=NOW)
    return root


@pytest.mark.realdata
def test_cli_show_csv_prints_a_coverage_table(shared_data: Path) -> None:
    result = CliRunner().invoke(app, ["data", "show", "--source", "csv", "--data-dir", str(shared_data)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Data: csv files in {shared_data}, ")
    for sid in CORE_SERIES:
        assert sid in result.output
    assert "2010-07-18" in result.output and "5281" in result.output  # btc_usd: first date and rows


def test_cli_show_live_reads_the_cache_without_network(warm_cache: Path) -> None:
    result = CliRunner().invoke(app, ["data", "show", "--cache-dir", str(warm_cache)])
    assert result.exit_code == 0, result.output
    assert "yahoo:BTC-USD" in result.output and "fred:DTWEXBGS" in result.output and "2024-05-31" in result.output
    assert "stale" in result.output  # the fake market ends in 2024
    cache.series_path(warm_cache, "dxy").write_text("garbage")
    result = CliRunner().invoke(app, ["data", "show", "--cache-dir", str(warm_cache)])
    assert result.exit_code == 0 and "unusable" in result.output and "dxy: corrupt cache file" in result.output


def test_cli_export_round_trips_into_the_csv_source(warm_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "my-snapshot"
    result = CliRunner().invoke(app, ["data", "export", "--cache-dir", str(warm_cache), "--data-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {len(DEFAULT_SOURCES)} series" in result.output
    panel = read_csv_folder(out, CORE_SERIES, OPTIONAL_SERIES)
    live = load_live_panel(DataConfig(source="live"), cache_dir=warm_cache, fetch_text=_offline, now=NOW)
    pd.testing.assert_frame_equal(panel[list(live.columns)], live)
    assert json.loads((out / "sources.json").read_text())["silver_usd"]["symbol"] == "SI=F"


def test_cli_export_without_cache_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["data", "export", "--cache-dir", str(tmp_path), "--data-dir", str(tmp_path / "out")],
                           monkeypatch, capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: nothing usable is cached in ") and "regime data fetch --source live" in err


def test_cli_fetch_downloads_then_updates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    market = FakeMarket()
    monkeypatch.setattr(http, "fetch_text", market)
    sources_file = tmp_path / "sources.toml"
    sources_file.write_text('[series.silver_usd]\nprovider = "yahoo"\nsymbol = "SLV"\n')
    args = ["data", "fetch", "--source", "live", "--cache-dir", str(tmp_path / "c"), "--sources-file", str(sources_file)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "yahoo:SLV" in result.output and "downloaded" in result.output
    result = CliRunner().invoke(app, args + ["-s", "btc_usd"])
    assert result.exit_code == 0 and "updated" in result.output
    assert any("/chart/SLV?" in u for u in market.urls)


def test_cli_fetch_offline_keeps_the_cache_and_fails(warm_cache: Path) -> None:
    result = CliRunner().invoke(app, ["data", "fetch", "--cache-dir", str(warm_cache), "-s", "dgs10"])
    assert isinstance(result.exception, DataError)
    assert "1 of 1 series not downloaded (1 kept from the cache)" in str(result.exception)
    assert "kept" in result.output


@pytest.mark.parametrize("args,message", [
    (["data", "fetch", "--source", "csv"], "must be 'live'"),
    (["data", "fetch", "-s", "copper"], "unknown series copper"),
    (["data", "show", "--source", "web"], "must be one of live, csv, demo"),
    (["data", "show", "--source", "csv"], "--data-dir"),
])
def test_cli_rejects_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, ConfigError) and message in str(result.exception)
