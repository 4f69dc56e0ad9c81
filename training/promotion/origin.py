"""Where a model's settings were tuned: the study and the data its objective saw.

``regime train --params best`` carries a :class:`TuningOrigin` into the training job: the
job refuses data other than the study's, and the champion gate refuses a model whose study
saw the dates it is judged on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from features.config import DataConfig
from features.errors import ConfigError


@dataclass(frozen=True)
class TuningOrigin:
    """The tuning study behind a configuration.

    Attributes
    ----------
    study, storage : str
        Study name and storage (password hidden).
    trial : int
        The trial whose settings are used.
    value : float
        Its tuning-period score.
    fingerprint : str
        Content hash of the panel the study was tuned on (sealed segment included).
    data : dict
        The study's data record (see :func:`training.tuning.storage.study_setup`):
        ``source``, ``data_dir``, ``start``, ``end``, ``first``, ``last``, ``seen_to``, ...
    sealed_start : str or None
        First date of the study's sealed segment.
    command : str
        The ``regime train --params best`` command on the study's data
        (:func:`training.tuning.storage.train_command`).
    """

    study: str
    storage: str
    trial: int
    value: float
    fingerprint: str
    data: dict[str, Any] = field(default_factory=dict)
    sealed_start: str | None = None
    command: str = ""

    @property
    def seen_to(self) -> str:
        """Last date whose data the study's objective saw (ISO)."""
        return str(self.data["seen_to"])

    def describe(self) -> str:
        """The study's data in a few words: source, folder, dates of the raw panel, fingerprint."""
        d = self.data
        where = f" {d['data_dir']}" if d.get("data_dir") else ""
        return f"{d['source']}{where} data {d['panel_first']} → {d['panel_last']} (fingerprint {self.fingerprint})"

    def check_data(self, fingerprint: str, data_cfg: DataConfig, first: str, last: str) -> None:
        """Refuse training data other than the study's.

        Parameters
        ----------
        fingerprint : str
            Content hash of the training panel.
        data_cfg : DataConfig
            The training's data settings (named in the message).
        first, last : str
            The training panel's first and last date.

        Raises
        ------
        ConfigError
            Naming both data sets and the command that trains on the study's.
        """
        if fingerprint == self.fingerprint:
            return
        where = f" {data_cfg.data_dir}" if data_cfg.data_dir else ""
        raise ConfigError(
            f"study '{self.study}' was tuned on {self.describe()}, not on this training's "
            f"{data_cfg.source}{where} data {first} → {last} (fingerprint {fingerprint}): "
            f"train on the study's data with `{self.command}`, or tune on this data"
        )

    def tags(self) -> dict[str, str]:
        """MLflow tags of a run (and model version) trained with these settings."""
        return {"tuning.study": self.study, "tuning.storage": self.storage, "tuning.trial": str(self.trial),
                "tuning.seen_to": self.seen_to, "tuning.fingerprint": self.fingerprint}
