"""The whole chain as one estimator: raw panel -> features -> regime -> forecasts."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from features.config import FeatureConfig
from features.csv_source import parse_numbers
from features.dates import parse_dates
from features.design import Design, build_design
from features.errors import DataError, ModelError
from features.target import target_name
from features.validation import validate_columns
from models.distribution import ReturnDistribution
from models.forecaster import LGBMForecaster
from models.history import first_exact_row, recent_history, too_little_history
from regime.engines import RegimeModel, make_regime_model
from regime.forecast import regime_outlook
from regime.memory import filter_memory

logger = logging.getLogger(__name__)


def forecast_name(horizon: int) -> str:
    """Output column of the ``horizon``-day forecast."""
    return f"forecast_{horizon}d"


class RegimeForecastPipeline(BaseEstimator):
    """Point-in-time features, a filtered-probability regime HMM and per-horizon LightGBM.

    Parameters
    ----------
    feature_config : FeatureConfig
        Feature windows.
    horizons : tuple of int
        Forecast horizons in business days.
    n_states : int
        Regime states (2 to 4); each is named by the thesis phase it matches best, or calm.
    hmm_n_init : int
        Seeded restarts of the regime model.
    regime_engine : {"hmm"}
        The regime model: a Gaussian HMM (:class:`regime.hmm.RegimeHMM`).
    covariance_type : {"diag", "full"}
        HMM emission covariance.
    regime_anchor : float
        Pseudo-days of the thesis's prior on the HMM's state means (``anchor`` of
        :class:`regime.hmm.RegimeHMM`; 0 fits free states).
    signatures : dict, optional
        The thesis's phases as expected directions on the regime observations (see
        :mod:`regime.naming`); default :data:`regime.naming.DEFAULT_SIGNATURES`.
    lgbm_params : dict, optional
        LightGBM overrides.
    use_regime : bool
        Whether regime probabilities are features (False gives the no-regime ablation).
    embargo : int
        Extra business days dropped between the last training target window and the
        training cut-off, on top of the purge.
    random_state : int
        Seeds the HMM restarts and LightGBM.

    Attributes
    ----------
    regime_ : RegimeHMM or None
    forecasters_ : dict of int -> LGBMForecaster
    feature_names_ : list of str
    distribution_ : ReturnDistribution
        Forecast distribution around the point forecasts (quantiles and P(up)).
    input_series_ : list of str
        Raw series the fitted chain reads.
    train_end_ : pd.Timestamp
        Last date whose features were seen in ``fit``.
    regime_memory_ : int or None
        Rows the regime filter needs to forget where its history starts
        (:func:`regime.memory.filter_memory` on the training observations); measured when
        fitting on every row (``cutoff=None``, the chain that is logged and served), None
        for walk-forward refits, and 0 without a regime.
    """

    def __init__(
        self,
        feature_config: FeatureConfig = FeatureConfig(),
        horizons: tuple[int, ...] = (5, 21, 63),
        n_states: int = 5,
        hmm_n_init: int = 10,
        regime_engine: str = "hmm",
        covariance_type: str = "diag",
        regime_anchor: float = 3000.0,
        signatures: dict | None = None,
        lgbm_params: dict | None = None,
        use_regime: bool = True,
        embargo: int = 0,
        random_state: int = 0,
    ) -> None:
        self.feature_config = feature_config
        self.horizons = horizons
        self.n_states = n_states
        self.hmm_n_init = hmm_n_init
        self.regime_engine = regime_engine
        self.covariance_type = covariance_type
        self.regime_anchor = regime_anchor
        self.signatures = signatures
        self.lgbm_params = lgbm_params
        self.use_regime = use_regime
        self.embargo = embargo
        self.random_state = random_state

    # -- building blocks shared with the walk-forward engine -------------------------------
    def make_regime_model(self, random_state: int | None = None) -> RegimeModel:
        """An unfitted regime model with this chain's settings (``random_state`` overrides the seed)."""
        engine = {"covariance_type": self.covariance_type, "anchor": self.regime_anchor,
                  "standardize": not self.feature_config.regime_zscore_window}
        return make_regime_model(
            self.regime_engine, n_states=self.n_states, n_init=self.hmm_n_init, signatures=self.signatures,
            random_state=self.random_state if random_state is None else random_state, **engine,
        )

    def make_design(self, panel: pd.DataFrame, min_rows: int = 1, tail: int | None = None) -> Design:
        """Build the point-in-time design of a raw panel with this chain's settings."""
        return build_design(panel, self.feature_config, tuple(self.horizons), min_rows=min_rows, tail=tail)

    def training_rows(
        self, design: Design, horizon: int, cutoff: int, train_start: int | None = None
    ) -> np.ndarray:
        """Positions usable to train the ``horizon`` model when the test period starts at ``cutoff``.

        Row i's target window is (i, i + horizon]; it must end before the test period and
        the embargo: ``i + horizon + embargo < cutoff`` (the purge). Rows without a target
        and rows before ``train_start`` (rolling windows) are dropped.
        """
        start = max(design.first_complete(), train_start or 0)
        last = cutoff - horizon - self.embargo - 1
        pos = np.arange(start, max(start, last + 1))
        y = design.targets[target_name(horizon)].to_numpy()
        return pos[np.isfinite(y[pos])]

    def fit_regime(
        self,
        design: Design,
        cutoff: int | None = None,
        train_start: int | None = None,
        init: RegimeModel | None = None,
        random_state: int | None = None,
    ) -> RegimeModel:
        """Fit this chain's regime model on every observation in ``[train_start, cutoff)``.

        ``init`` (the previous refit's regime model) warm-starts it (see
        :meth:`regime.hmm.RegimeHMM.fit`); ``random_state`` overrides the seed.
        """
        cutoff = len(design.index) if cutoff is None else int(cutoff)
        start = max(design.first_complete(), train_start or 0)
        return self.make_regime_model(random_state).fit(design.regime_obs.iloc[start:cutoff], init=init)

    def fit_design(
        self,
        design: Design,
        cutoff: int | None = None,
        train_start: int | None = None,
        regime_init: RegimeModel | None = None,
        regime_model: RegimeModel | None = None,
    ) -> "RegimeForecastPipeline":
        """Fit on the rows of ``design`` in ``[train_start, cutoff)`` (all rows when None).

        The regime model sees every observation before ``cutoff`` (it needs no target); each
        forecaster sees only the purged rows of :meth:`training_rows`. ``regime_init`` (the
        previous refit's regime model) warm-starts the regime fit; ``regime_model``, an
        already fitted one (on data before ``cutoff``), is used as it is.
        """
        n = len(design.index)
        full_fit = cutoff is None
        cutoff = n if cutoff is None else int(cutoff)
        start = max(design.first_complete(), train_start or 0)
        self.regime_ = None
        if self.use_regime:
            self.regime_ = regime_model if regime_model is not None else self.fit_regime(
                design, cutoff, train_start, init=regime_init)
        X = self.design_matrix(design)
        self.feature_names_ = list(X.columns)
        self.forecasters_ = {}
        for h in self.horizons:
            rows = self.training_rows(design, h, cutoff, start)
            if len(rows) < 50:
                raise ModelError(f"only {len(rows)} training rows for the {h}-day horizon; need at least 50")
            y = design.targets[target_name(h)].iloc[rows]
            self.forecasters_[h] = LGBMForecaster(self.lgbm_params, self.random_state).fit(X.iloc[rows], y)
        self.distribution_ = self.return_distribution(design, cutoff, train_start)
        self.input_series_ = [c for c in design.aligned.columns if design.aligned[c].notna().any()]
        self.train_end_ = design.index[cutoff - 1]
        self.regime_memory_ = 0 if self.regime_ is None else (
            filter_memory(self.regime_, design.regime_obs.iloc[start:cutoff].dropna()) if full_fit else None)
        return self

    def regime_proba(self, design: Design, states: pd.DataFrame | None = None) -> pd.DataFrame:
        """Filtered regime probabilities ``p_<name>`` for every row (NaN during warm-up; no columns without a regime).

        The state probabilities of :meth:`regime_state_proba` summed by name; pass ``states``
        when they are at hand (one filter pass per prediction).
        """
        if self.regime_ is None:
            return pd.DataFrame(index=design.index)
        states = self.regime_state_proba(design) if states is None else states
        return pd.DataFrame(self.regime_.aggregate(states), index=states.index,
                            columns=[f"p_{n}" for n in self.regime_.label_names])

    def regime_state_proba(self, design: Design) -> pd.DataFrame:
        """Filtered probabilities of each regime state (``state_0`` ...) for every row (NaN in the warm-up).

        The filter runs over the whole observed history, whatever rows are forecast. Several
        states may share a name; :meth:`regime_proba` sums them by name.
        """
        check_is_fitted(self, "regime_")
        if self.regime_ is None:
            return pd.DataFrame(index=design.index)
        return self.regime_.filter_state_proba(design.regime_obs.iloc[design.regime_start():]).reindex(design.index)

    def design_matrix(self, design: Design, states: pd.DataFrame | None = None) -> pd.DataFrame:
        """Features plus (when used) filtered regime probabilities (from ``states``, :meth:`regime_state_proba`, if given)."""
        return pd.concat([design.features, self.regime_proba(design, states)], axis=1)

    def predict_design(self, design: Design, last: int | None = None) -> pd.DataFrame:
        """Regime, probabilities and forecasts for each complete row of ``design`` (or its ``last`` rows)."""
        check_is_fitted(self, "forecasters_")
        states = self.regime_state_proba(design) if self.regime_ is not None else None  # one filter pass
        X = self.design_matrix(design, states).reindex(columns=self.feature_names_)
        first = design.first_complete()
        if last is not None:
            first = max(first, len(X) - int(last)) if last > 0 else len(X)
        X = X.iloc[first:]
        columns: dict[str, np.ndarray] = {}
        if self.regime_ is not None:
            labels = [f"p_{n}" for n in self.regime_.label_names]
            proba = X.to_numpy()[:, [self.feature_names_.index(c) for c in labels]]
            names = np.array(self.regime_.label_names, dtype=object)
            columns["regime"] = names[proba.argmax(axis=1)]
            columns.update({c: proba[:, j] for j, c in enumerate(labels)})
        for h in self.horizons:
            columns[forecast_name(h)] = self.forecasters_[h].predict(X)
        out = pd.DataFrame(columns, index=X.index)
        return pd.concat([out, *self._outlook(design, out, states)], axis=1)

    def _outlook(self, design: Design, out: pd.DataFrame, states: pd.DataFrame | None = None) -> list[pd.DataFrame]:
        """The columns after the forecasts: the return distribution, then the regime forecast."""
        extra = []
        dist = getattr(self, "distribution_", None)  # models saved before distributions existed have none
        if dist is not None and len(out):
            points = pd.DataFrame({h: out[forecast_name(h)].to_numpy() for h in self.horizons}, index=out.index)
            extra.append(dist.predict(points, design.aligned["btc_usd"]))
        if self.regime_ is not None and len(out):
            states = (self.regime_state_proba(design) if states is None else states).reindex(out.index)
            extra.append(regime_outlook(states, self.regime_.transmat_, self.regime_.labels_,
                                        self.regime_.label_names, tuple(self.horizons)))
        return extra

    def return_distribution(
        self, design: Design, cutoff: int | None = None, train_start: int | None = None
    ) -> ReturnDistribution:
        """The forecast distribution :meth:`fit_design` stores, from targets realised before ``cutoff``.

        Same rows as the forecasters: from ``train_start`` (or the first complete row), and
        only targets whose window ends before the cut-off minus the embargo.
        """
        n = len(design.index)
        cutoff = n if cutoff is None else int(cutoff)
        start = max(design.first_complete(), train_start or 0)
        targets = pd.DataFrame({h: design.targets[target_name(h)] for h in self.horizons})
        return ReturnDistribution(tuple(self.horizons)).fit(targets, design.aligned["btc_usd"], start,
                                                            cutoff - self.embargo)

    # -- the public estimator API ------------------------------------------------------------
    def fit(self, panel: pd.DataFrame, y: None = None) -> "RegimeForecastPipeline":
        """Fit the whole chain on a raw panel (DatetimeIndex, series-id columns)."""
        return self.fit_design(self.make_design(panel, min_rows=252))

    def _exact_design(self, panel: pd.DataFrame, last: int) -> tuple[Design, int]:
        """The design of ``panel`` for its ``last`` rows, and its first exact row."""
        design = self.make_design(panel, min_rows=0, tail=last)
        return design, first_exact_row(self, design)

    def predict(self, panel: pd.DataFrame, last: int | None = None, exact: bool = False) -> pd.DataFrame:
        """Forecast from a raw panel.

        Parameters
        ----------
        panel : pd.DataFrame
            Raw panel with the series the model was trained on.
        last : int, optional
            Only the latest ``last`` rows (a warm daily update); results equal those of a
            full prediction. Without ``exact`` the regime filter runs over the whole history;
            with it, over the history those rows need (:func:`models.history.recent_history`),
            so the cost does not grow with the input.
        exact : bool
            Only rows whose answer equals what a longer history would give
            (:func:`models.history.first_exact_row`); a :class:`DataError` saying how much
            history is needed when there is none (or fewer than ``last``).

        Returns
        -------
        pd.DataFrame
            Columns ``date``, ``regime``, ``p_<label>`` and ``forecast_<h>d``, then
            ``q10_<h>d``, ``q50_<h>d``, ``q90_<h>d`` and ``p_up_<h>d`` per horizon
            (:class:`models.distribution.ReturnDistribution`), then (with a regime model)
            ``p_<label>_<h>d`` per horizon and ``spell_left_days`` (:mod:`regime.forecast`);
            one row per business day with complete features.
        """
        check_is_fitted(self, "forecasters_")
        missing = [s for s in self.input_series_ if s not in panel.columns]
        if missing:
            raise ModelError(f"input is missing series the model was trained on: {', '.join(missing)}")
        if list(panel.columns) != self.input_series_:
            panel = panel[self.input_series_]
        if exact and last is not None and last > 0:  # a warm update computes from the history its rows need, not all it was sent
            design, first = self._exact_design(recent_history(self, panel, last), last)
            if first > len(design.index) - last:
                design, first = self._exact_design(panel, last)
        else:
            design = self.make_design(panel, min_rows=0 if exact else 1, tail=last)
            first = first_exact_row(self, design) if exact else 0
        if exact and (first >= len(design.index) or (last and len(design.index) - int(last) < first)):
            raise DataError(too_little_history(self, design, last))
        out = self.predict_design(design, last)
        if exact:
            out = out[out.index >= design.index[first]]
        out.index.name = "date"
        return out.reset_index()


def panel_from_frame(frame: pd.DataFrame, series: list[str] | None = None) -> pd.DataFrame:
    """Turn a flat frame with a ``date`` column (as sent to the pyfunc) into a raw panel.

    Dates follow the one rule of :mod:`features.dates` (ISO strings or datetimes; the day as
    written, time of day and UTC offset dropped). Values must be numbers or missing (``null``,
    or a csv missing marker): text in a number column is an error naming the series and the
    date, as in a csv file. Unknown columns are dropped when ``series`` is given. Each series
    goes through the checks of :func:`features.validation.validate_series` (all at once:
    :func:`~features.validation.validate_columns`), like data from any other source.
    """
    if "date" not in frame.columns:
        raise ModelError("input needs a 'date' column")
    dates = parse_dates(frame["date"])
    if dates.isna().any():
        bad = frame["date"].iloc[int(dates.isna().argmax())]
        raise ModelError(f"cannot parse date '{bad}' in the 'date' column")
    cols = [c for c in frame.columns if c != "date" and (series is None or c in series)]
    table = np.empty((len(dates), len(cols)))
    dtypes = dict(zip(frame.columns, frame.dtypes))
    floats = [j for j, c in enumerate(cols) if dtypes[c] == np.float64]
    if floats:  # float columns are numbers already (NaN: missing), as parse_numbers returns them: one conversion
        table[:, floats] = frame[[cols[j] for j in floats]].to_numpy()
    for j, c in enumerate(cols):
        if j in floats:
            continue
        numbers, bad = parse_numbers(frame[c])
        if len(bad):
            i = int(bad[0])
            raise ModelError(f"series '{c}' (model input): cannot parse number '{frame[c].iloc[i]}' on "
                             f"{dates[i]:%Y-%m-%d}" + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""))
        table[:, j] = numbers
    # The same checks as every other source: conflicting duplicate dates, non-positive prices, ...
    index, values = validate_columns(dates, table, [str(c) for c in cols], origin="model input")
    return pd.DataFrame(values, index=index, columns=cols)
