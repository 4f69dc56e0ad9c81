"""training.config: every key of every section is checked against its declared type, generically."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest

from features.errors import ConfigError
from training.config import Config, check_type

CASES = {  # TOML line in a section: what the message must say
    ("tracking", 'register = "false"'): "`[tracking] register` must be true or false. Got 'false' (a string)",
    ("evaluation", 'baselines = "no"'): "`[evaluation] baselines` must be true or false. Got 'no'",
    ("evaluation", 'step = "126"'): "`[evaluation] step` must be an integer. Got '126' (a string)",
    ("model", "horizons = 21"): "`[model] horizons` must be a list of integers. Got 21 (an integer)",
    ("model", "n_states = 3.0"): "`[model] n_states` must be an integer. Got 3.0 (a float)",
    ("model", "n_states = true"): "`[model] n_states` must be an integer. Got true (a boolean)",
    ("model", 'horizons = [5, "21"]'): "`[model] horizons[1]` must be an integer. Got '21'",
    ("model", "lgbm_params = 5"): "`[model] lgbm_params` must be a table",
    ("tracking", "tracking_uri = 5"): "`[tracking] tracking_uri` must be a string or absent",
    ("data", 'accept_implausible = "btc_usd"'): "`[data] accept_implausible` must be a list of strings",
    ("features", "lead_lags = [21, 4.5]"): "`[features] lead_lags[1]` must be an integer",
}


@pytest.mark.parametrize(("section", "line"), list(CASES))
def test_a_value_of_the_wrong_type_names_file_key_and_type(tmp_path: Path, section: str, line: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[{section}]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Config.from_toml(path)
    assert str(info.value).startswith(f"config file {path}: ") and CASES[section, line] in str(info.value)


def _wrong_value(tp: Any) -> Any:
    """A value that does not fit ``tp``."""
    origin = typing.get_origin(tp)
    if tp is bool:
        return "true"
    if tp in (int, float) or origin in (tuple, list, dict):
        return "1"
    return 1  # str, str | None, ...


def test_every_field_of_every_section_is_checked_including_future_ones() -> None:
    """Generic: whatever field a section declares (now or later), a value of the wrong type is refused naming it."""
    default = Config()
    checked = 0
    for section in dataclasses.fields(Config):
        cls = type(getattr(default, section.name))
        for name, tp in typing.get_type_hints(cls).items():
            if tp is Any:
                continue
            with pytest.raises(ConfigError, match=rf"`\[{section.name}\] {name}` must be"):
                Config.from_dict({section.name: {name: _wrong_value(tp)}})
            checked += 1
    assert checked >= 25


def test_right_types_are_accepted_and_lists_become_tuples(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('[data]\nstart = 2017-01-01\naccept_implausible = ["btc_usd"]\n[model]\nhorizons = [5, 21]\n'
                    '[evaluation]\nbaselines = false\n[tracking]\nregister = false\n', encoding="utf-8")
    cfg = Config.from_toml(path)
    assert cfg.data.start == "2017-01-01" and cfg.data.accept_implausible == ("btc_usd",)
    assert cfg.model.horizons == (5, 21) and cfg.evaluation.baselines is False and cfg.tracking.register is False
    assert Config.from_dict(cfg.to_dict()) == cfg  # what a run stores reads back identically


def test_check_type_rules() -> None:
    assert check_type(3, float, "k") == 3.0 and isinstance(check_type(3, float, "k"), float)
    assert check_type(None, int | None, "k") is None
    assert check_type({"a": 1}, dict[str, Any], "k") == {"a": 1}
    with pytest.raises(ConfigError, match="`k` must be an integer. Got true"):
        check_type(True, int, "k")


@pytest.mark.parametrize(("write", "needle"), [
    (lambda p: p.write_bytes("[model]\nn_states = 2\n".encode("utf-16")), "is UTF-16 text; TOML files must be UTF-8"),
    (lambda p: p.write_bytes(b"[model]\nn_states = 2 # \xe9t\xe9\n"), "is not UTF-8 text"),
    (lambda p: p.mkdir(), "is a directory; expected a TOML file"),
    (lambda p: p.write_text("[model\n"), "config file"),
    (lambda p: p.write_text("model = 5\n"), "`model` must be a section"),
    (lambda p: p.write_text("[modle]\n"), "unknown config section 'modle'"),
], ids=["utf16", "latin1", "directory", "not-toml", "section-not-a-table", "unknown-section"])
def test_a_config_file_that_is_not_utf8_toml_is_one_line(tmp_path: Path, write, needle: str) -> None:
    path = tmp_path / "cfg.toml"
    write(path)
    with pytest.raises(ConfigError, match=needle) as info:
        Config.from_toml(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
