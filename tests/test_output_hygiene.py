"""What commands leave behind and print besides their results: files under outputs/, -h for help, no library chatter."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from tests.conftest import log_stub_model
from training.cli import app
from training.cli.verbosity import configure_logging


def _commands() -> list[list[str]]:
    """Every command path of ``regime``, the groups included."""
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]
    for name, command in root.commands.items():
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {})]
    return paths


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "regime")
def test_dash_h_is_help_everywhere(path):
    result = CliRunner().invoke(app, [*path, "-h"], prog_name="regime")
    assert result.exit_code == 0, result.output
    assert "Usage: regime" in result.output and "--help" in result.output


def test_horizon_options_use_a_capital_h():
    root = typer.main.get_command(app)
    for path in _commands()[1:]:
        command = root
        for name in path:
            command = command.commands[name]
        for param in command.params:
            assert "-h" not in getattr(param, "opts", ()), (path, param.name)
            if param.name == "horizon":
                assert "-H" in param.opts, path


def test_files_go_under_outputs_unless_an_option_says_otherwise():
    root = typer.main.get_command(app)
    defaults = {(name, p.name): p.default for name, c in root.commands.items() for p in getattr(c, "params", ())}
    assert defaults[("report", "output")] == Path("outputs/report.html")
    assert defaults[("explain", "output_dir")] == Path("outputs/explain")
    assert defaults[("leadlag", "output_dir")] == Path("outputs/leadlag")
    assert defaults[("predict", "output")] is None and defaults[("regimes", "output")] is None  # written only when given


@pytest.fixture
def restore_logging():
    yield
    configure_logging()


def test_library_info_lines_only_with_verbose(restore_logging):
    configure_logging()
    assert not logging.getLogger("mlflow").isEnabledFor(logging.INFO)
    assert not logging.getLogger("some.library").isEnabledFor(logging.INFO)
    assert logging.getLogger("training.promotion.lock").isEnabledFor(logging.INFO)  # the project's own notes stay
    configure_logging(verbose=True)
    assert logging.getLogger("mlflow").isEnabledFor(logging.INFO)
    assert logging.getLogger("some.library").isEnabledFor(logging.INFO)
    configure_logging(quiet=True)
    assert not logging.getLogger("training").isEnabledFor(logging.INFO)


def test_registering_prints_nothing_unless_verbose(mlflow_store, tmp_path, capsys, restore_logging):
    from training.tracking.registry import register_model

    configure_logging()
    uri = log_stub_model(mlflow_store, {"source": "demo"}, tmp_path)
    capsys.readouterr()
    assert register_model(uri, "m", "run") == "1" and register_model(uri, "m", "run") == "2"
    assert capsys.readouterr().err == ""  # no "Successfully registered", "already exists", "Created version"
    configure_logging(verbose=True)
    register_model(uri, "m", "run")
    assert "Created version '3' of model 'm'" in capsys.readouterr().err
