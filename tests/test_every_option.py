"""Every CLI option and every config key, given a value of the wrong type or out of range, is refused in
one line naming it (exit code 2, no traceback), before any work: only parsing and config checks run.

The options and keys are discovered (typer's commands, the config's dataclasses), so one added later is
walked too; a key or option without a range must be listed in ``NO_RANGE`` with the reason.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest
import typer.main

from features.errors import ConfigError, RegimeError
from tests.conftest import run_cli
from training.cli.app import app
from training.config import Config

NUMERIC = ("<class 'int'>", "<class 'float'>", "list[int]", "list[float]")


def _numeric_options() -> list[tuple[tuple[str, ...], str]]:
    """(command path, option) of every option that takes a number, in every command and sub-command."""
    found = []

    def walk(command, path: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))
        for param in getattr(command, "params", []) if not getattr(command, "commands", None) else []:
            if param.param_type_name == "option" and str(param.type_descriptor.annotation) in NUMERIC:
                found.append((path, param.opts[0]))

    walk(typer.main.get_command(app), ())
    return found


OPTIONS = _numeric_options()


def _names(option: str) -> tuple[str, str]:
    """How a message may name an option: ``--n-states`` or its config key ``n_states``."""
    return option, option.lstrip("-").replace("-", "_")


def _one_line_naming(code: int, err: str, option: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert any(name in lines[0] for name in _names(option)), lines[0]


def test_the_walk_finds_the_options():
    assert len(OPTIONS) > 25 and (("predict",), "--rows") in OPTIONS and (("train",), "--seed") in OPTIONS


@pytest.mark.parametrize("value", ["abc", "-5"], ids=["wrong-type", "out-of-range"])
@pytest.mark.parametrize(("path", "option"), OPTIONS, ids=lambda x: " ".join(x) if isinstance(x, tuple) else x)
def test_every_numeric_option(path, option, value, tmp_path, monkeypatch, capsys):
    """A store that does not exist: an option that got past its check would end in the store's message instead."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/none/mlflow.db")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([*path, option, value], monkeypatch, capsys)
    _one_line_naming(code, err, option)
    assert not (tmp_path / "none").exists()


# --- config keys -------------------------------------------------------------------------------------------------

#: An out-of-range value for every key that has a range.
OUT_OF_RANGE: dict[str, typing.Any] = {
    "data.source": "excel", "data.start": "2021-08", "data.end": "not-a-date", "data.seed": -1,
    "data.accept_implausible": ["copper"], "data.bridge_gaps": ["copper"],
    "features.return_windows": [0], "features.vol_window": 1, "features.lead_lags": [0], "features.zscore_window": 1,
    "features.regime_window": 1, "features.regime_observations": ["moon"], "features.regime_zscore_window": 5,
    "model.horizons": [0], "model.n_states": 9, "model.hmm_n_init": 0, "model.regime_engine": "jump",
    "model.covariance_type": "spherical-ish", "model.regime_anchor": -1.0,
    "model.signatures": {"fear": {"metals": "sideways"}}, "model.lgbm_params": {"num_leaves": 1},
    "model.embargo": -1, "model.random_state": -1,
    "evaluation.initial_train": 10, "evaluation.step": 0, "evaluation.window": "weird", "evaluation.n_bootstrap": -1,
    "evaluation.n_jobs": 0, "evaluation.sealed_days": -1,
    "tracking.tracking_uri": "foo://bar", "tracking.experiment": " ", "tracking.model_name": "",
}
#: Keys without a range, and why.
NO_RANGE = {
    "data.data_dir": "a folder: checked when read, naming it",
    "data.cache_dir": "a folder: checked when read, naming it",
    "data.sources_file": "a file: checked when read, naming it",
    "evaluation.baselines": "a boolean", "evaluation.compare_regimes": "a boolean",
    "tracking.register": "a boolean", "tracking.force_promote": "a boolean",
    "tracking.lock_url": "a database URL: checked before the work (reachable, PostgreSQL), naming it",
    "tracking.promote_without_lock": "a boolean",
}


def _keys() -> list[tuple[str, str, typing.Any]]:
    default = Config()
    return [(section.name, f.name, typing.get_type_hints(type(getattr(default, section.name)))[f.name])
            for section in dataclasses.fields(Config) for f in dataclasses.fields(type(getattr(default, section.name)))]


KEYS = _keys()


def _wrong_type(tp: typing.Any) -> typing.Any:
    """A value that is not of type ``tp``: a table for scalars and lists, a number for text and tables."""
    plain = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    return 3 if plain[0] is str or typing.get_origin(plain[0]) is dict else {"not": "this"}


def test_every_key_is_classified():
    assert {f"{s}.{k}" for s, k, _ in KEYS} == set(OUT_OF_RANGE) | set(NO_RANGE)


@pytest.mark.parametrize(("section", "key", "tp"), KEYS, ids=[f"{s}.{k}" for s, k, _ in KEYS])
def test_every_config_key_of_the_wrong_type(section, key, tp):
    with pytest.raises(ConfigError) as info:
        Config.from_dict({section: {key: _wrong_type(tp)}})
    assert f"`[{section}] {key}`" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("dotted", OUT_OF_RANGE)
def test_every_config_key_out_of_range(dotted):
    section, key = dotted.split(".")
    with pytest.raises(RegimeError) as info:
        Config.from_dict({section: {key: OUT_OF_RANGE[dotted]}})
    message = str(info.value)
    assert "\n" not in message and f"`[{section}] {key}" in message, message


def test_a_config_file_names_the_file_and_the_key(tmp_path, monkeypatch, capsys):
    path = tmp_path / "x.toml"
    path.write_text("[model]\nlgbm_params = {num_leaves = 1}\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    code, _, err = run_cli(["train", "--config", str(path)], monkeypatch, capsys)
    assert code == 2 and err.strip() == (f"error: config file {path}: `[model] lgbm_params`: num_leaves = 1 is refused "
                                         "by LightGBM (Check failed: (num_leaves) > (1))")
