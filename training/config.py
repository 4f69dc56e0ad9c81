"""The one typed configuration object of a job, passed explicitly and logged with every run."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.config import DataConfig, FeatureConfig
from features.errors import ConfigError
from regime.choices import COVARIANCE_TYPES, ENGINES
from regime.naming import check_signatures

MODEL_NAME = "btc-forward-return"


@dataclass(frozen=True)
class ModelConfig:
    """Settings of the chain (regime HMM + forecasters).

    Attributes
    ----------
    horizons : tuple of int
        Forecast horizons in business days (weeks to months: 5, 21, 63).
    n_states : {2, 3, 4}
        Regime states; each is named by the thesis phase it matches best, or calm.
    hmm_n_init : int
        Seeded restarts per regime fit (the first walk-forward fold and the final model;
        later folds start from the previous fold's states).
    regime_engine : {"hmm", "jump"}
        Gaussian HMM or statistical jump model (``regime.engines``).
    covariance_type : {"diag", "full"}
        The HMM's emission covariance.
    jump_penalty : float
        The jump model's cost of one change of state.
    signatures : dict
        The thesis's phases as expected directions on the regime observations, e.g.
        ``{"fear": {"gold": 1, "vix": 1, "real_yield": -1}, ...}`` (TOML:
        ``[model.signatures.fear]``); empty means ``regime.naming.DEFAULT_SIGNATURES``.
    lgbm_params : dict
        LightGBM overrides (see ``models.forecaster.DEFAULT_LGBM_PARAMS``).
    embargo : int
        Business days dropped after the purge, between training targets and a test period.
    random_state : int
        Seed of every random step.
    """

    horizons: tuple[int, ...] = (5, 21, 63)
    n_states: int = 4
    hmm_n_init: int = 10
    regime_engine: str = "hmm"
    covariance_type: str = "diag"
    jump_penalty: float = 50.0
    signatures: dict[str, dict[str, float]] = field(default_factory=dict)
    lgbm_params: dict[str, Any] = field(default_factory=dict)
    embargo: int = 0
    random_state: int = 0

    def __post_init__(self) -> None:
        if not self.horizons or any(not isinstance(h, int) or h < 1 or h > 252 for h in self.horizons):
            raise ConfigError(f"`horizon` must be integers between 1 and 252 business days. Got {self.horizons}.")
        if len(set(self.horizons)) != len(self.horizons):
            raise ConfigError(f"`horizon` values must be distinct. Got {self.horizons}.")
        if self.n_states not in (2, 3, 4):
            raise ConfigError(f"`n_states` must be 2, 3 or 4. Got {self.n_states}.")
        if self.regime_engine not in ENGINES:
            raise ConfigError(f"`regime_engine` must be one of {', '.join(ENGINES)}. Got '{self.regime_engine}'.")
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ConfigError(f"`covariance_type` must be one of {', '.join(COVARIANCE_TYPES)}. Got '{self.covariance_type}'.")
        if not self.jump_penalty >= 0:
            raise ConfigError(f"`jump_penalty` must be >= 0. Got {self.jump_penalty}.")
        if self.signatures:
            try:
                check_signatures(self.signatures)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        if self.hmm_n_init < 1:
            raise ConfigError(f"`hmm_n_init` must be >= 1. Got {self.hmm_n_init}.")
        if self.embargo < 0:
            raise ConfigError(f"`embargo` must be >= 0. Got {self.embargo}.")


@dataclass(frozen=True)
class EvalConfig:
    """Walk-forward settings.

    Attributes
    ----------
    initial_train : int
        Business days of complete features before the first test date.
    step : int
        Test block length = refit cadence, in business days.
    window : {"expanding", "rolling"}
        Training window; ``rolling`` keeps the last ``initial_train`` days.
    n_bootstrap : int
        Block-bootstrap resamples for confidence intervals.
    baselines : bool
        Whether to evaluate the baselines (zero, expanding mean, momentum, linear, no-regime).
    compare_regimes : bool
        Also compare regime models (HMMs with 2, 3 and 4 states) on the data before the
        sealed segment and log the table with the run (see ``regime regimes``; slower).
    sealed_days : int
        Business days at the end of the history held out from every choice (0: none). The
        walk-forward still forecasts them out of sample, but tuning never sees them and the
        champion gate judges on them (see :func:`training.evaluation.sealed.sealed_start`).
    """

    initial_train: int = 756
    step: int = 126
    window: str = "expanding"
    n_bootstrap: int = 500
    baselines: bool = True
    compare_regimes: bool = False
    sealed_days: int = 504

    def __post_init__(self) -> None:
        if self.initial_train < 252:
            raise ConfigError(f"`initial_train` must be >= 252 business days. Got {self.initial_train}.")
        if self.step < 1:
            raise ConfigError(f"`step` must be >= 1. Got {self.step}.")
        if self.window not in ("expanding", "rolling"):
            raise ConfigError(f"`window` must be expanding or rolling. Got '{self.window}'.")
        if self.n_bootstrap < 0:
            raise ConfigError(f"`n_bootstrap` must be >= 0. Got {self.n_bootstrap}.")
        if self.sealed_days < 0:
            raise ConfigError(f"`sealed_days` must be >= 0. Got {self.sealed_days}.")


@dataclass(frozen=True)
class TrackingConfig:
    """Where runs and models go.

    Attributes
    ----------
    tracking_uri : str or None
        MLflow tracking URI; None means ``$MLFLOW_TRACKING_URI`` or
        ``sqlite:///mlruns/mlflow.db`` with artifacts under ``mlruns/artifacts``.
    experiment : str
        MLflow experiment name.
    model_name : str
        Registered model name.
    register : bool
        Whether to register the trained model (and consider it for ``champion``).
    force_promote : bool
        Make the new version champion even if it does not beat the current one.
    """

    tracking_uri: str | None = None
    experiment: str = "btc-regime"
    model_name: str = MODEL_NAME
    register: bool = True
    force_promote: bool = False


@dataclass(frozen=True)
class Config:
    """Everything a training job needs."""

    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON-serialisable) of every setting."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Config":
        """Build from a nested dict; unknown sections or keys are a :class:`ConfigError`."""
        sections = {f.name: f.type for f in dataclasses.fields(cls)}
        kwargs = {}
        default = cls()
        for name, values in raw.items():
            if name not in sections:
                raise ConfigError(f"unknown config section '{name}' (known: {', '.join(sections)})")
            section_cls = type(getattr(default, name))
            known = {f.name for f in dataclasses.fields(section_cls)}
            unknown = set(values) - known
            if unknown:
                raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
            coerced = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
            kwargs[name] = section_cls(**coerced)
        return cls(**kwargs)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Config":
        """Read a TOML file with sections ``[data]``, ``[features]``, ``[model]``, ``[evaluation]``, ``[tracking]``."""
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        return cls.from_dict(raw)

    def replace(self, **sections: dict[str, Any]) -> "Config":
        """Copy with some fields of some sections changed (``replace(model={"n_states": 2})``)."""
        changes = {name: dataclasses.replace(getattr(self, name), **vals) for name, vals in sections.items() if vals}
        return dataclasses.replace(self, **changes)
