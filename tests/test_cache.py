"""features.cache and the refresh logic of features.live: atomic files, incremental merge, staleness, corruption."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from features import cache
from features.cache import (
    CacheCorruptError,
    CacheRecord,
    merge,
    read_cached,
    read_record,
    write_cached,
)
from features.errors import DataError
from features.live import HISTORY_START, update_series
from features.providers import NetworkError, SourceSpec

DGS10 = SourceSpec("dgs10", "fred", "DGS10")
NOW = pd.Timestamp("2024-06-03 22:00", tz="UTC")


def _series(values: dict[str, float], name: str = "dgs10") -> pd.Series:
    s = pd.Series(list(values.values()), index=pd.DatetimeIndex(pd.to_datetime(list(values)), name="date"), name=name)
    return s.astype(float)


def _record(s: pd.Series, fetched: str = "2024-05-25T12:00:00+00:00", source: SourceSpec = DGS10) -> CacheRecord:
    return CacheRecord(source.series_id, source.provider, source.symbol, "https://example.invalid", fetched,
                       f"{s.index[0]:%Y-%m-%d}", f"{s.index[-1]:%Y-%m-%d}", len(s))


class FakeFred:
    """Serves FRED CSV downloads from a fixed history and records the requested URLs."""

    def __init__(self, history: pd.Series) -> None:
        self.history = history
        self.urls: list[str] = []

    def __call__(self, url: str) -> str:
        self.urls.append(url)
        query = parse_qs(urlparse(url).query)
        rows = self.history[self.history.index >= pd.Timestamp(query["cosd"][0])]
        return f"observation_date,{query['id'][0]}\n" + "".join(f"{d:%Y-%m-%d},{v}\n" for d, v in rows.items())

    @property
    def starts(self) -> list[str]:
        return [parse_qs(urlparse(u).query)["cosd"][0] for u in self.urls]


def offline(url: str) -> str:
    raise NetworkError(f"cannot reach {url} (ConnectionError)")


# -- location -------------------------------------------------------------------------------


def test_cache_dir_comes_from_the_option_then_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REGIME_CACHE_DIR", str(tmp_path / "env"))
    assert cache.resolve_cache_dir() == tmp_path / "env"
    assert cache.resolve_cache_dir(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv("REGIME_CACHE_DIR")
    monkeypatch.setattr(cache.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_cache_dir() == tmp_path / "xdg" / "btc-regime"


# -- atomic writes --------------------------------------------------------------------------


def test_atomic_write_replaces_the_content(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.csv"
    cache.atomic_write_text(target, "old\n")
    cache.atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert os.listdir(target.parent) == ["x.csv"]


@pytest.mark.parametrize("crash_in", ["fsync", "replace"])
def test_a_crash_mid_write_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_in: str) -> None:
    old = _series({"2024-05-20": 4.44, "2024-05-21": 4.41})
    write_cached(tmp_path, old, _record(old))
    before = cache.series_path(tmp_path, "dgs10").read_bytes()

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.os, crash_in, crash)
    new = _series({"2024-05-20": 4.44, "2024-05-21": 4.41, "2024-05-22": 4.43})
    with pytest.raises(DataError, match=r"cannot write the cache in .*No space left on device"):
        write_cached(tmp_path, new, _record(new))
    assert cache.series_path(tmp_path, "dgs10").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["dgs10.csv", "dgs10.json"]
    assert read_record(tmp_path, "dgs10").rows == 2


def test_series_and_record_round_trip(tmp_path: Path) -> None:
    s = _series({"2024-05-20": 4.44, "2024-05-21": 0.1 + 0.2})
    write_cached(tmp_path, s, _record(s))
    back = read_cached(tmp_path, "dgs10", today=pd.Timestamp("2024-06-03"))
    pd.testing.assert_series_equal(back, s)
    assert read_record(tmp_path, "dgs10") == _record(s)
    assert read_cached(tmp_path, "walcl") is None and read_record(tmp_path, "walcl") is None


# -- corruption -----------------------------------------------------------------------------


def test_a_corrupt_cache_file_is_reported_with_its_path(tmp_path: Path) -> None:
    cache.series_path(tmp_path, "dgs10").write_text("date,value\n2024-05-20,4.4\n2024-05")  # truncated
    cache.series_path(tmp_path, "dxy").write_bytes(b"\x00\x01garbage")
    with pytest.raises(CacheCorruptError, match=r"corrupt cache file for series 'dgs10': .*dgs10\.csv, line 3: expected 2 fields, got 1"):
        read_cached(tmp_path, "dgs10")
    with pytest.raises(CacheCorruptError, match=r"dxy\.csv: not a text CSV file"):
        read_cached(tmp_path, "dxy")
    cache.record_path(tmp_path, "dgs10").write_text('{"series_id": "dgs10"')
    with pytest.raises(CacheCorruptError, match=r"corrupt cache record .*dgs10\.json"):
        read_record(tmp_path, "dgs10")


def test_a_corrupt_cache_is_recovered_by_downloading_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache.series_path(tmp_path, "dgs10").write_text("date,value\n2024-05-20,oops\n")
    fake = FakeFred(_series({"2024-05-20": 4.44, "2024-05-21": 4.41}))
    with caplog.at_level(logging.WARNING, logger="features.live"):
        update = update_series(DGS10, tmp_path, fake, NOW)
    assert update.status == "downloaded" and len(update.values) == 2
    assert fake.starts == [f"{HISTORY_START:%Y-%m-%d}"]
    assert "corrupt cache file for series 'dgs10'" in caplog.text and "downloading it again" in caplog.text
    assert read_cached(tmp_path, "dgs10").iloc[-1] == 4.41


def test_a_corrupt_cache_while_offline_is_a_clear_error(tmp_path: Path) -> None:
    cache.series_path(tmp_path, "dgs10").write_text("date,value\n2024-05-20,oops\n")
    with pytest.raises(DataError, match=r"series 'dgs10' \(fred:DGS10\): corrupt cache file .*dgs10\.csv.*download failed.*regime data fetch --source live"):
        update_series(DGS10, tmp_path, offline, NOW)


# -- incremental refresh --------------------------------------------------------------------


def test_merge_prefers_fetched_values_and_counts_revisions() -> None:
    cached = _series({"2024-05-20": 4.44, "2024-05-21": 4.41, "2024-05-22": 4.43})
    fetched = _series({"2024-05-21": 4.41, "2024-05-22": 4.45, "2024-05-23": 4.48})
    merged, revised = merge(cached, fetched)
    assert merged.to_dict() == _series({"2024-05-20": 4.44, "2024-05-21": 4.41, "2024-05-22": 4.45, "2024-05-23": 4.48}).to_dict()
    assert revised == 1
    alone, revised = merge(None, fetched)
    pd.testing.assert_series_equal(alone, fetched)
    assert revised == 0


def test_refresh_fetches_only_from_the_last_date_minus_the_overlap(tmp_path: Path) -> None:
    cached = _series({"2024-05-20": 4.44, "2024-05-21": 4.41, "2024-05-22": 4.43, "2024-05-23": 4.48, "2024-05-24": 4.46})
    write_cached(tmp_path, cached, _record(cached))
    provider = _series({"2024-05-13": 4.49, "2024-05-20": 4.44, "2024-05-21": 4.41, "2024-05-22": 4.43,
                        "2024-05-23": 4.50, "2024-05-24": 4.46, "2024-05-28": 4.55, "2024-05-29": 4.62})
    fake = FakeFred(provider)
    update = update_series(DGS10, tmp_path, fake, NOW)
    assert fake.starts == ["2024-05-14"]  # 2024-05-24 minus the 10-day overlap of daily series
    assert update.status == "updated" and update.new_rows == 2 and update.revised == 1
    stored = read_cached(tmp_path, "dgs10")
    assert stored.loc["2024-05-23"] == 4.50 and stored.index[-1] == pd.Timestamp("2024-05-29")
    assert "2024-05-13" not in stored.index.strftime("%Y-%m-%d")
    record = read_record(tmp_path, "dgs10")
    assert (record.last, record.rows, record.fetched) == ("2024-05-29", 7, NOW)
    assert "fredgraph.csv?id=DGS10&cosd=2024-05-14" in record.url


def test_a_recent_cache_is_used_without_a_request(tmp_path: Path) -> None:
    s = _series({"2024-05-31": 4.51})
    write_cached(tmp_path, s, _record(s, fetched=(NOW - pd.Timedelta(hours=2)).isoformat()))
    fake = FakeFred(s)
    update = update_series(DGS10, tmp_path, fake, NOW, max_age=pd.Timedelta(hours=12))
    assert update.status == "fresh" and fake.urls == []


def test_a_cache_from_another_source_is_replaced_by_a_full_download(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    slv = SourceSpec("silver_usd", "fred", "SLVPRUSD")
    old = _series({"2024-05-20": 27.5}, name="silver_usd")
    write_cached(tmp_path, old, _record(old, source=SourceSpec("silver_usd", "yahoo", "SI=F")))
    fake = FakeFred(_series({"2024-05-20": 25.0, "2024-05-21": 25.5}, name="silver_usd"))
    with caplog.at_level(logging.WARNING, logger="features.live"):
        update = update_series(slv, tmp_path, fake, NOW)
    assert "holds yahoo:SI=F, but the sources ask for fred:SLVPRUSD" in caplog.text
    assert update.status == "downloaded" and fake.starts == [f"{HISTORY_START:%Y-%m-%d}"]
    assert list(update.values) == [25.0, 25.5]
    with pytest.raises(DataError, match="holds fred:SLVPRUSD, but the sources ask for yahoo:SI=F"):
        update_series(SourceSpec("silver_usd", "yahoo", "SI=F"), tmp_path, offline, NOW)


# -- offline and staleness ------------------------------------------------------------------


def test_offline_uses_the_cache_and_says_how_stale_it_is(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = _series({"2024-05-23": 4.48, "2024-05-24": 4.46})
    write_cached(tmp_path, s, _record(s, fetched="2024-05-25T12:00:00+00:00"))
    with caplog.at_level(logging.WARNING, logger="features.live"):
        update = update_series(DGS10, tmp_path, offline, NOW)
    assert update.status == "cached" and isinstance(update.failure, NetworkError)
    pd.testing.assert_series_equal(update.values, s)
    assert ("series 'dgs10' (fred:DGS10): download failed (cannot reach" in caplog.text
            and "using the cache, fetched 2024-05-25 12:00 UTC (9 days ago), last observation 2024-05-24 (10 days old)" in caplog.text)


def test_offline_without_cache_names_the_series_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"series 'dgs10' \(fred:DGS10\): not cached in .*, and the download failed \(cannot reach .*\); run `regime data fetch --source live` when online"):
        update_series(DGS10, tmp_path, offline, NOW)


def test_a_bad_download_is_rejected_and_the_cache_kept(tmp_path: Path) -> None:
    s = _series({"2024-05-24": 4.46})
    write_cached(tmp_path, s, _record(s))
    bad = FakeFred(_series({"2024-05-28": 4.55, "2024-06-10": 4.6}))
    with pytest.raises(DataError, match=r"series 'dgs10' \(fred:DGS10\): dates in the future \(after 2024-06-03\): 2024-06-10"):
        update_series(DGS10, tmp_path, bad, NOW)
    pd.testing.assert_series_equal(read_cached(tmp_path, "dgs10"), s)
