"""The one typed configuration object of a job, passed explicitly and logged with every run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np

from features.config import DataConfig, FeatureConfig
from features.errors import ConfigError
from regime.base import MAX_STATES
from regime.choices import COVARIANCE_TYPES, ENGINES
from regime.naming import check_signatures
from training.tracking.credentials import hide_password

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
    regime_engine : {"hmm"}
        The Gaussian HMM (``regime.engines``; the jump model was removed: docs/decisions.md).
    covariance_type : {"diag", "full"}
        The HMM's emission covariance.
    regime_anchor : float
        Pseudo-days of the thesis's prior on the HMM's state means: each state starts at a
        signature's prototype and is drawn towards it (0 fits free states;
        :class:`regime.hmm.RegimeHMM`).
    signatures : dict
        Each regime as its defining moves on the regime observations, e.g.
        ``{"fear": {"metals": "up", "metals_vs_btc": "up"}, ...}`` (TOML:
        ``[model.signatures.fear]``; directions ``up``, ``down``, ``not up``, ``not down``;
        a key ``"a|b"`` holds when any of them moves so); a state is named only when its
        mean meets every move. Empty means ``regime.naming.DEFAULT_SIGNATURES``.
    lgbm_params : dict
        LightGBM overrides (see ``models.forecaster.DEFAULT_LGBM_PARAMS``).
    embargo : int
        Business days dropped after the purge, between training targets and a test period.
    random_state : int
        Seed of every random step.
    """

    horizons: tuple[int, ...] = (5, 21, 63)
    n_states: int = 5
    hmm_n_init: int = 10
    regime_engine: str = "hmm"
    covariance_type: str = "diag"
    regime_anchor: float = 3000.0
    signatures: dict[str, dict[str, str]] = field(default_factory=dict)
    lgbm_params: dict[str, Any] = field(default_factory=dict)
    embargo: int = 0
    random_state: int = 0

    def __post_init__(self) -> None:
        if not self.horizons or any(not isinstance(h, int) or h < 1 or h > 252 for h in self.horizons):
            raise ConfigError(f"`horizons` (--horizon) must be integers between 1 and 252 business days. Got {self.horizons}.")
        if len(set(self.horizons)) != len(self.horizons):
            raise ConfigError(f"`horizons` (--horizon) must be distinct. Got {self.horizons}.")
        if self.n_states not in range(2, MAX_STATES + 1):
            raise ConfigError(f"`n_states` must be an integer from 2 to {MAX_STATES}. Got {self.n_states}.")
        if self.regime_engine not in ENGINES:
            raise ConfigError(f"`regime_engine` must be one of {', '.join(ENGINES)}. Got '{self.regime_engine}'.")
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ConfigError(f"`covariance_type` must be one of {', '.join(COVARIANCE_TYPES)}. Got '{self.covariance_type}'.")
        if not (np.isfinite(self.regime_anchor) and self.regime_anchor >= 0):
            raise ConfigError(f"`regime_anchor` must be a number >= 0 (pseudo-days; 0 fits free states). Got {self.regime_anchor}.")
        if self.signatures:
            try:
                check_signatures(self.signatures)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        if self.hmm_n_init < 1:
            raise ConfigError(f"`hmm_n_init` must be >= 1. Got {self.hmm_n_init}.")
        if self.embargo < 0:
            raise ConfigError(f"`embargo` must be >= 0. Got {self.embargo}.")
        if not 0 <= self.random_state < 2**32:
            raise ConfigError(f"`random_state` must be from 0 to 2**32 - 1. Got {self.random_state}.")
        if self.lgbm_params:
            from training.lgbm_params import check_lgbm_params

            check_lgbm_params(self.lgbm_params)


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
    n_jobs : int
        Threads that fit the walk-forward's folds (the results do not depend on it).
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
    n_jobs: int = 2
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
        if self.n_jobs < 1:
            raise ConfigError(f"`n_jobs` must be >= 1. Got {self.n_jobs}.")
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
    lock_url : str or None
        PostgreSQL database whose advisory lock serialises promotions into a remote store;
        None means ``$REGIME_LOCK_URL``, else the store itself when it is a PostgreSQL URL
        (:mod:`training.promotion.lock`). A local store uses its file lock.
    promote_without_lock : bool
        Promote into a remote store that has no lock: the caller serialises the trainings
        that register into it (otherwise such a training is refused before the work).
    """

    tracking_uri: str | None = None
    experiment: str = "btc-regime"
    model_name: str = MODEL_NAME
    register: bool = True
    force_promote: bool = False
    lock_url: str | None = None
    promote_without_lock: bool = False

    def __post_init__(self) -> None:
        from training.tracking.store import check_scheme

        if self.tracking_uri is not None:
            check_scheme(self.tracking_uri, "`tracking_uri` (--tracking-uri)")
        for name in ("experiment", "model_name"):
            if not getattr(self, name).strip():
                raise ConfigError(f"`{name}` must not be empty.")


@dataclass(frozen=True)
class Config:
    """Everything a training job needs."""

    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON-serialisable) of every setting; URLs' passwords hidden (it is logged and stored)."""
        out = dataclasses.asdict(self)
        for key in ("tracking_uri", "lock_url"):
            if out["tracking"][key]:
                out["tracking"][key] = hide_password(out["tracking"][key])
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Config":
        """Build from a nested dict (a TOML file, a stored config).

        Every key of every section is checked against the type its dataclass declares
        (:func:`check_type`), so keys added later are checked too; lists become tuples where
        a tuple is declared. Unknown sections or keys and values of the wrong type are a
        :class:`ConfigError` naming the key and the expected type.
        """
        sections = {f.name: f.type for f in dataclasses.fields(cls)}
        kwargs = {}
        default = cls()
        for name, values in raw.items():
            if name not in sections:
                raise ConfigError(f"unknown config section '{name}' (known: {', '.join(sections)})")
            if not isinstance(values, dict):
                raise ConfigError(f"`{name}` must be a section ([{name}] with keys), got {_kind(values)}")
            section_cls = type(getattr(default, name))
            hints = typing.get_type_hints(section_cls)
            known = {f.name for f in dataclasses.fields(section_cls)}
            unknown = set(values) - known
            if unknown:
                raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
            try:
                kwargs[name] = section_cls(**{k: check_type(v, hints[k], f"[{name}] {k}") for k, v in values.items()})
            except ConfigError as exc:  # a range check of the section names the key alone: add its section
                raise ConfigError(re.sub(rf"^`({'|'.join(known)})([.\[][^`]*)?`", rf"`[{name}] \1\2`", str(exc))) from None
        return cls(**kwargs)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Config":
        """Read a TOML file with sections ``[data]``, ``[features]``, ``[model]``, ``[evaluation]``, ``[tracking]``."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except IsADirectoryError:
            raise ConfigError(f"config file {path} is a directory; expected a TOML file") from None
        except OSError as exc:
            raise ConfigError(f"config file {path}: cannot read ({exc.strerror or exc})") from None
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ConfigError(f"config file {path} is UTF-16 text; TOML files must be UTF-8 (save it as UTF-8)")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start}); TOML files must be UTF-8") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        try:
            return cls.from_dict(raw)
        except ConfigError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None

    def replace(self, **sections: dict[str, Any]) -> "Config":
        """Copy with some fields of some sections changed (``replace(model={"n_states": 2})``)."""
        changes = {name: dataclasses.replace(getattr(self, name), **vals) for name, vals in sections.items() if vals}
        return dataclasses.replace(self, **changes)


def _kind(value: Any) -> str:
    """How a value reads in a message: ``'false' (a string)``, ``21 (an integer)``."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "a list",
             tuple: "a list", dict: "a table", type(None): "nothing"}
    shown = str(value).lower() if isinstance(value, bool) else repr(value)  # as written in TOML
    return f"{shown} ({names.get(type(value), type(value).__name__)})"


def _expected(tp: Any) -> str:
    """A declared type in words: ``true or false``, ``a list of integers``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    words = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if tp in words:
        return words[tp]
    if origin in (Union, types.UnionType):
        return " or ".join(_expected(a) if a is not type(None) else "absent" for a in args)
    if origin in (tuple, list):
        item = args[0] if args else Any
        inner = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}.get(item, "values")
        return f"a list of {inner}"
    if origin is dict:
        return "a table"
    if origin is Literal:
        return "one of " + ", ".join(map(repr, args))
    return getattr(tp, "__name__", str(tp))


def check_type(value: Any, tp: Any, key: str) -> Any:
    """``value`` checked against the declared type ``tp`` (and lists turned into tuples where declared).

    Booleans are not integers here, integers are accepted as floats, a TOML date is accepted
    as its ISO text where a string is declared; anything else of the wrong type is a
    :class:`ConfigError` naming ``key``, the expected type and the value.

    Examples
    --------
    >>> check_type([5, 21], tuple[int, ...], "[model] horizons")
    (5, 21)
    """
    def fail() -> typing.NoReturn:
        raise ConfigError(f"`{key}` must be {_expected(tp)}. Got {_kind(value)}.")

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return check_type(value, option, key)
            except ConfigError:
                continue
        fail()
    if tp is bool:
        return value if isinstance(value, bool) else fail()
    if tp is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else fail()
    if tp is float:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else fail()
    if tp is str:
        if isinstance(value, (dt.date, dt.time)):  # `start = 2013-01-01` unquoted is a TOML date
            return value.isoformat()
        return value if isinstance(value, str) else fail()
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            fail()
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                fail()
            return tuple(check_type(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [check_type(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            fail()
        k_tp, v_tp = args or (Any, Any)
        return {check_type(k, k_tp, key): check_type(v, v_tp, f"{key}.{k}") for k, v in value.items()}
    if origin is Literal:
        return value if value in args else fail()
    if isinstance(tp, type) and not isinstance(value, tp):
        fail()
    return value
