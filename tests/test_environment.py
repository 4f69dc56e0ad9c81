"""The cheap check of a model's pinned environment (replaces MLflow's slow one at load time)."""

from __future__ import annotations

import logging
import platform
from importlib.metadata import version
from pathlib import Path

import pytest

from training.tracking.environment import pinned_mismatches, warn_if_mismatched


def test_only_exact_pins_that_differ_are_reported() -> None:
    here = version("pandas")
    lines = [f"pandas=={here}", "numpy==0.0.1", "not-installed-pkg==1.0", "# comment", "scipy>=1", "", "-r other.txt"]
    assert pinned_mismatches(lines) == [f"numpy==0.0.1 (installed {version('numpy')})",
                                        "not-installed-pkg==1.0 (installed none)"]


def test_a_mismatch_is_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "requirements.txt").write_text("numpy==0.0.1\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="training.tracking.environment"):
        found = warn_if_mismatched(tmp_path, "2.7.18")
    assert found == [f"numpy==0.0.1 (installed {version('numpy')})", f"python 2.7.18 (running {platform.python_version()})"]
    assert len(caplog.records) == 1 and "numpy==0.0.1" in caplog.text


def test_a_matching_environment_is_silent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "requirements.txt").write_text(f"pandas=={version('pandas')}\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="training.tracking.environment"):
        assert warn_if_mismatched(tmp_path, platform.python_version()) == []
    assert not caplog.records
