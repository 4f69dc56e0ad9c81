"""The search space of ``regime tune`` and the sampler that draws from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from features.errors import ConfigError
from models.forecaster import DEFAULT_LGBM_PARAMS
from training.config import Config


@dataclass(frozen=True)
class Param:
    """One searched setting: where it lives in :class:`Config` and its range.

    Tuple-valued settings (``lead_lags``) are searched as comma-separated strings, since
    Optuna's categorical choices must be scalars.

    Attributes
    ----------
    section : {"model", "features", "lgbm"}
        ``lgbm`` means a key of ``model.lgbm_params``.
    key : str
        Field or LightGBM parameter name.
    low, high : int or float, optional
        Numeric range; ``int`` bounds give an integer parameter.
    log : bool
        Sample on a log scale.
    choices : tuple, optional
        Categorical choices (instead of a range).
    """

    section: str
    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """Draw a value from ``trial``.

        Parameters
        ----------
        trial : optuna.Trial
            The trial drawing the value.
        name : str
            The parameter's name in the trial.

        Returns
        -------
        Any
            The value in the trial's representation (see :meth:`to_config`).
        """
        if self.choices is not None:
            return trial.suggest_categorical(name, self.choices)
        if isinstance(self.low, int) and isinstance(self.high, int):
            return trial.suggest_int(name, self.low, self.high, log=self.log)
        return trial.suggest_float(name, float(self.low), float(self.high), log=self.log)

    def read(self, cfg: Config) -> Any:
        """The setting's value in ``cfg``, in the trial's representation.

        Parameters
        ----------
        cfg : Config
            The configuration to read.

        Returns
        -------
        Any
            Tuples are joined with commas; a LightGBM key missing from ``cfg`` is read
            from :data:`models.forecaster.DEFAULT_LGBM_PARAMS` (None if absent there too).
        """
        if self.section == "lgbm":
            value = {**DEFAULT_LGBM_PARAMS, **cfg.model.lgbm_params}.get(self.key)
        else:
            value = getattr(getattr(cfg, self.section), self.key)
        return ",".join(map(str, value)) if isinstance(value, tuple) else value

    def contains(self, value: Any) -> bool:
        """Whether ``value`` (trial representation) lies in the searched range.

        Parameters
        ----------
        value : Any
            A value as :meth:`read` returns it.

        Returns
        -------
        bool
        """
        if self.choices is not None:
            return value in self.choices
        return value is not None and self.low <= value <= self.high

    def to_config(self, value: Any) -> Any:
        """The trial's value as the config stores it.

        Parameters
        ----------
        value : Any
            A value in the trial's representation.

        Returns
        -------
        Any
            Comma-separated strings become tuples of ints; anything else is unchanged.
        """
        return tuple(int(v) for v in value.split(",")) if isinstance(value, str) else value


#: The search space, declared once: the lead terms' lags and LightGBM settings. The regime model
#: (states, covariance, the prior, its observations' windows: they define the thesis's phases) is
#: not tuned on the forecast: `regime regimes` chooses it by out-of-sample likelihood, stability
#: and whether the phases are named (docs/decisions.md).
SEARCH_SPACE: dict[str, Param] = {
    "lead_lags": Param("features", "lead_lags", choices=("21", "42", "21,42", "21,42,63", "42,84")),
    "n_estimators": Param("lgbm", "n_estimators", 50, 600, log=True),
    "learning_rate": Param("lgbm", "learning_rate", 0.002, 0.1, log=True),
    "num_leaves": Param("lgbm", "num_leaves", 2, 31, log=True),
    "max_depth": Param("lgbm", "max_depth", 1, 6),
    "min_child_samples": Param("lgbm", "min_child_samples", 20, 400, log=True),
    "subsample": Param("lgbm", "subsample", 0.5, 1.0),
    "colsample_bytree": Param("lgbm", "colsample_bytree", 0.3, 1.0),
    "reg_lambda": Param("lgbm", "reg_lambda", 1e-3, 100.0, log=True),
}


def apply_params(base: Config, params: dict[str, Any]) -> Config:
    """``base`` with trial parameters set.

    Parameters
    ----------
    base : Config
        The configuration to change.
    params : dict of str -> Any
        Values in the trial's representation, keyed by names of :data:`SEARCH_SPACE`.
        LightGBM keys are merged into ``base.model.lgbm_params``.

    Returns
    -------
    Config
    """
    sections: dict[str, dict[str, Any]] = {"model": {}, "features": {}, "lgbm": {}}
    unknown = sorted(set(params) - set(SEARCH_SPACE))
    if unknown:
        raise ConfigError(f"the study's trials set {', '.join(unknown)}, which `regime tune` no longer searches "
                          "(the regime model is chosen by `regime regimes`): tune a new study (--study NAME)")
    for name, value in params.items():
        p = SEARCH_SPACE[name]
        sections[p.section][p.key] = p.to_config(value)
    lgbm = sections.pop("lgbm")
    if lgbm:
        sections["model"]["lgbm_params"] = {**base.model.lgbm_params, **lgbm}
    return base.replace(**sections)


def suggest_config(trial: optuna.Trial, base: Config) -> Config:
    """The configuration a trial evaluates: ``base`` with every :data:`SEARCH_SPACE` setting drawn.

    Parameters
    ----------
    trial : optuna.Trial
        Draws the values (in :data:`SEARCH_SPACE` order, so a seeded sampler reproduces them).
    base : Config
        Everything not searched: data, horizons, evaluation settings, seeds.

    Returns
    -------
    Config
    """
    return apply_params(base, {name: p.suggest(trial, name) for name, p in SEARCH_SPACE.items()})


def default_params(base: Config) -> dict[str, Any]:
    """``base``'s own values of the searched settings that lie in the search space.

    Parameters
    ----------
    base : Config
        The base configuration of a study.

    Returns
    -------
    dict of str -> Any
        Trial parameters (enqueued as a new study's first trial).
    """
    values = {name: p.read(base) for name, p in SEARCH_SPACE.items()}
    return {name: v for name, v in values.items() if SEARCH_SPACE[name].contains(v)}


class TrialSeededTPESampler(optuna.samplers.TPESampler):
    """TPE whose random draws for trial *n* depend only on ``(seed, n)``.

    A plain seeded sampler repeats the same draws in every worker (two workers would
    evaluate the same start-up configurations) and after every restart. Reseeding from
    the trial number keeps one worker reproducible and gives each trial of a shared
    study its own draws. (Reseeds TPESampler's private ``_rng`` and ``_random_sampler``;
    ``tests/test_tune.py`` checks both properties against the installed Optuna.)

    Parameters
    ----------
    seed : int
        The study's sampler seed (``--sampler-seed``).
    """

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Reseed from ``(seed, trial.number)``, then let TPE prepare the trial."""
        seed = int(np.random.SeedSequence([self._base_seed, trial.number]).generate_state(1)[0])
        self._rng.rng.seed(seed)
        self._random_sampler = optuna.samplers.RandomSampler(seed=seed)
        super().before_trial(study, trial)
