"""Property-based robustness of the csv source: any corruption of a valid folder ends in a clean
:class:`~features.errors.DataError` or a valid panel, never in another exception.

Hypothesis runs derandomized (the same examples on every machine) with a bounded number of
examples; the data is a two-year slice of the demo market, written once per module.
"""

from __future__ import annotations

import random
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from features.config import FeatureConfig
from features.csv_source import read_csv_folder
from features.design import build_design
from features.errors import DataError
from features.series import CORE_SERIES, OPTIONAL_SERIES, spec_for
from tests.conftest import write_csv_folder

PROPERTY = settings(
    max_examples=40, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Tokens a value cell may be replaced with: vendors' missing markers, non-finite and signed values.
ODD_VALUES = ("nan", "NaN", ".", "", "inf", "-inf", "Infinity", "1e999", "-1e999", "0", "-0.0", "-1", "-123.4")
#: Text that does not belong in a csv cell (quotes, separators, control characters, other scripts).
GARBAGE = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['"', '"unterminated', ",,", "\r", "\x00", "\ufeff", "2020-02-30", "1,5", "0x1A", "１２", "NULL", " 1 "]
)

Files = dict[str, str | None]
Corruption = Callable[[list[str], random.Random, st.DataObject], str | None]


@pytest.fixture(scope="module")
def clean_files(small_panel: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Files:
    """The text of every file of a valid two-year csv folder (series id -> csv text)."""
    folder = write_csv_folder(small_panel.loc["2019-01-01":"2020-12-31"], tmp_path_factory.mktemp("clean"))
    return {p.stem: p.read_text() for p in sorted(folder.glob("*.csv"))}


def _edit_cell(lines: list[str], rnd: random.Random, column: int, edit: Callable[[str], str]) -> str:
    """Replace one cell (0 = date, 1 = value) of a random data line by ``edit(cell)``."""
    if len(lines) > 1:
        i = rnd.randrange(1, len(lines))
        cells = lines[i].split(",")
        cells += [""] * (2 - len(cells))
        cells[column] = edit(cells[column])
        lines[i] = ",".join(cells)
    return "\n".join(lines) + "\n"


def _drop_rows(lines: list[str], rnd: random.Random, data: st.DataObject) -> str:
    keep = data.draw(st.floats(0.0, 1.0), label="keep fraction")
    return "\n".join([lines[0], *(ln for ln in lines[1:] if rnd.random() < keep)]) + "\n"


def _duplicate_rows(lines: list[str], rnd: random.Random, data: st.DataObject) -> str:
    for _ in range(data.draw(st.integers(1, 5), label="duplicates") if len(lines) > 1 else 0):
        row = rnd.choice(lines[1:])
        if data.draw(st.booleans(), label="with another value"):
            row = row.split(",")[0] + f",{rnd.uniform(1, 100)!r}"
        lines.insert(rnd.randrange(1, len(lines) + 1), row)
    return "\n".join(lines) + "\n"


def _shuffle_lines(lines: list[str], rnd: random.Random, data: st.DataObject) -> str:
    start = 0 if data.draw(st.booleans(), label="header too") else 1
    tail = lines[start:]
    rnd.shuffle(tail)
    return "\n".join(lines[:start] + tail) + "\n"


def _inject_garbage(lines: list[str], rnd: random.Random, data: st.DataObject) -> str:
    token = data.draw(GARBAGE, label="garbage")
    where = data.draw(st.sampled_from(["date", "value", "line"]), label="where")
    if where == "line":
        lines.insert(rnd.randrange(0, len(lines) + 1), token)
        return "\n".join(lines) + "\n"
    return _edit_cell(lines, rnd, 0 if where == "date" else 1, lambda _: token)


def _truncate(lines: list[str], rnd: random.Random, data: st.DataObject) -> str:
    text = "\n".join(lines) + "\n"
    return text[: rnd.randrange(0, len(text))]


def _odd_value(lines: list[str], rnd: random.Random, data: st.DataObject) -> str:
    token = data.draw(st.sampled_from(ODD_VALUES), label="value")
    return _edit_cell(lines, rnd, 1, lambda _: token)


def _negate(lines: list[str], rnd: random.Random, data: st.DataObject) -> str:
    return _edit_cell(lines, rnd, 1, lambda value: f"-{value}")


def _delete(lines: list[str], rnd: random.Random, data: st.DataObject) -> None:
    return None


def _empty(lines: list[str], rnd: random.Random, data: st.DataObject) -> str:
    return data.draw(st.sampled_from(["", "\n", "\n\n", " ", "date,value"]), label="empty content")


CORRUPTIONS: dict[str, Corruption] = {
    "drop rows": _drop_rows, "duplicate rows": _duplicate_rows, "shuffle lines": _shuffle_lines,
    "inject garbage": _inject_garbage, "truncate mid-line": _truncate, "NaN/inf/zero": _odd_value,
    "negative price": _negate, "delete file": _delete, "empty file": _empty,
}


def _corrupt(files: Files, data: st.DataObject) -> Files:
    """Apply one to three drawn corruptions to copies of ``files``."""
    out = dict(files)
    rnd = data.draw(st.randoms(use_true_random=False), label="rng")
    for _ in range(data.draw(st.integers(1, 3), label="corruptions")):
        kind = data.draw(st.sampled_from(sorted(CORRUPTIONS)), label="kind")
        event(f"corruption: {kind}")
        sid = data.draw(st.sampled_from(sorted(f for f, t in out.items() if t)), label="series")
        out[sid] = CORRUPTIONS[kind](out[sid].splitlines(), rnd, data)
    return out


def _load(files: Files) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write ``files`` to a fresh folder and read it back: (raw panel, design features)."""
    with tempfile.TemporaryDirectory() as tmp:
        for sid, text in files.items():
            if text is not None:
                Path(tmp, f"{sid}.csv").write_text(text, encoding="utf-8")
        panel = read_csv_folder(Path(tmp), CORE_SERIES, OPTIONAL_SERIES)
    return panel, build_design(panel, FeatureConfig(), (5, 21)).features


@PROPERTY
@given(data=st.data())
def test_any_corruption_gives_a_valid_panel_or_a_one_line_data_error(clean_files: Files, data: st.DataObject) -> None:
    """Whatever is done to the files, the reader and the feature builder either return a valid panel
    (sorted unique dates, finite values, positive prices) or raise a one-line DataError."""
    files = _corrupt(clean_files, data)
    try:
        panel, _ = _load(files)
    except DataError as exc:
        message = str(exc)
        event("DataError: " + re.sub(r"\S*/\S*", "<file>", message)[:60])
        assert message and "\n" not in message, repr(message)
        return
    event("valid panel")
    assert panel.index.is_unique and panel.index.is_monotonic_increasing
    assert set(CORE_SERIES) <= set(panel.columns)
    values = panel.to_numpy(dtype=float)
    assert not np.isinf(values).any()
    for sid in panel.columns:
        if spec_for(sid).must_be_positive:
            assert (panel[sid].dropna() > 0).all(), sid


@settings(PROPERTY, max_examples=15)
@given(data=st.data())
def test_reordered_or_repeated_rows_give_the_same_panel(clean_files: Files, data: st.DataObject) -> None:
    """Shuffling the data lines of files and repeating identical rows changes nothing: same panel, same features."""
    files = dict(clean_files)
    rnd = data.draw(st.randoms(use_true_random=False), label="rng")
    for sid in data.draw(st.lists(st.sampled_from(sorted(files)), min_size=1, max_size=4, unique=True), label="series"):
        header, *body = files[sid].splitlines()
        body += [rnd.choice(body) for _ in range(data.draw(st.integers(0, 5), label="repeats"))]
        rnd.shuffle(body)
        files[sid] = "\n".join([header, *body]) + "\n"
    expected, expected_features = _load(clean_files)
    panel, features = _load(files)
    pd.testing.assert_frame_equal(panel, expected)
    pd.testing.assert_frame_equal(features, expected_features)
