"""``regime now``: the current regime, how long it has lasted, forecasts with bands, drivers, flips.

Pure computations on a fitted pipeline and its design, plus :func:`load_oos_errors`
(reads the training run's out-of-sample predictions from MLflow). The bands are the
model's own forecast distribution (wider when BTC is volatile, see
:mod:`models.distribution`); models trained before it existed fall back to quantiles of
past out-of-sample errors, the same width every day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.design import Design
from features.errors import DataError, ModelError
from features.observations import REGIME_OBSERVATIONS
from models.explain import Explanation, narrative, top_drivers
from models.pipeline import RegimeForecastPipeline, forecast_name
from models.quantiles import BAND, GRID, p_up_name, quantile_name
from models.units import format_pct
from regime.engines import RegimeModel
from regime.forecast import SPELL_LEFT, regime_forecast_name
from training.tracking.runs import read_run_csv
from training.thesis.sequence import SequenceEvidence, current_spell_sentence

OOS_ARTIFACT = "evaluation/oos_predictions.csv"


@dataclass(frozen=True)
class NowState:
    """The latest date's regime, forecasts and what drives them.

    Attributes
    ----------
    date : pd.Timestamp
    regime : str
    proba : pd.Series
        Filtered probability of each regime (index: label).
    spell_days : int
        Business days the regime has been the most probable one, ending on ``date``.
    spell_start : pd.Timestamp
    forecasts : pd.DataFrame
        Per horizon: ``forecast``, ``median``, ``lo``, ``hi`` (log returns), ``p_up``
        (P(return > 0); NaN without a forecast distribution) and ``n_oos`` (errors behind
        a band from out-of-sample errors; 0 for the model's own distribution).
    band : tuple of float
        Quantiles of the band.
    drivers : pd.DataFrame
        :func:`models.explain.top_drivers` on ``date``.
    narrative : str
    flips : pd.DataFrame
        :func:`regime_flips`.
    names : pd.DataFrame
        How each state of the regime model earned its name
        (:meth:`regime.base.RegimeModelMixin.state_match`).
    naming_notes : list of str
        Phases no state matches.
    band_source : str
        Where the band comes from (``"forecast distribution"``, ``"out-of-sample errors"`` or ``"none"``).
    outlook : pd.DataFrame
        P(each regime ``h`` business days ahead): index horizon, one column per regime name.
    spell_left : float
        Expected further business days in the current regime (from the transition matrix).
    fan : dict of int -> pd.Series
        Quantiles on :data:`models.quantiles.GRID` of each horizon's forecast (for the fan chart).
    story : str
        The current spell in the thesis's terms (:func:`training.thesis.sequence.current_spell_sentence`).
    sequence : SequenceEvidence or None
        What followed earlier fear spells in the walk-forward's labels
        (:func:`training.thesis.sequence.sequence_evidence`); None when the run logged no labels.
    skill : str
        The forecasts' measured out-of-sample skill, every horizon (:func:`training.display.skill.skill_line`).
    headline_skill : str
        The same for the headline horizon alone (:func:`training.display.skill.skill_note`).
    """

    date: pd.Timestamp
    regime: str
    proba: pd.Series
    spell_days: int
    spell_start: pd.Timestamp
    forecasts: pd.DataFrame
    band: tuple[float, float]
    drivers: pd.DataFrame
    narrative: str
    flips: pd.DataFrame
    band_source: str = "none"
    outlook: pd.DataFrame = field(default_factory=pd.DataFrame)
    spell_left: float = float("nan")
    fan: dict[int, pd.Series] = field(default_factory=dict)
    names: pd.DataFrame = field(default_factory=pd.DataFrame)
    naming_notes: tuple[str, ...] = ()
    story: str = ""
    sequence: SequenceEvidence | None = None
    skill: str = ""
    headline_skill: str = ""

    @property
    def match(self) -> float:
        """The current regime's match with its phase (the best of its states'; NaN for calm)."""
        rows = self.names[self.names.label == self.regime] if len(self.names) else self.names
        return float(rows["match"].max()) if len(rows) else float("nan")


def spell(regimes: pd.Series) -> tuple[int, pd.Timestamp]:
    """Length (rows) and first date of the run of equal labels that ends the series."""
    labels = regimes.dropna()
    if labels.empty:
        raise DataError("no filtered regime to report")
    same = (labels == labels.iloc[-1]).to_numpy()[::-1]
    n = int(same.argmin()) if not same.all() else len(same)
    return n, labels.index[-n]


def spell_text(state: "NowState") -> str:
    """``for 12 business days (since 2024-12-13)``."""
    unit = "business day" if state.spell_days == 1 else "business days"
    return f"for {state.spell_days} {unit} (since {state.spell_start:%Y-%m-%d})"


def error_quantiles(oos: pd.DataFrame, band: tuple[float, float] = (0.1, 0.9)) -> pd.DataFrame:
    """Quantiles of realized minus forecast per horizon from walk-forward predictions.

    Parameters
    ----------
    oos : pd.DataFrame
        The training run's ``oos_predictions.csv``: columns ``horizon``, ``realized``,
        ``model`` (rows whose target is not yet realized are ignored).
    band : tuple of float
        Lower and upper quantile.

    Returns
    -------
    pd.DataFrame
        Index ``horizon``; columns ``lo``, ``hi``, ``n``.
    """
    err = (oos["realized"] - oos["model"]).rename("err")
    frame = pd.concat([oos["horizon"], err], axis=1).dropna()
    grouped = frame.groupby("horizon")["err"]
    return pd.DataFrame({"lo": grouped.quantile(band[0]), "hi": grouped.quantile(band[1]), "n": grouped.size()})


def load_oos_errors(run_id: str, band: tuple[float, float] = (0.1, 0.9)) -> pd.DataFrame:
    """:func:`error_quantiles` of a training run's logged out-of-sample predictions."""
    return error_quantiles(read_run_csv(run_id, OOS_ARTIFACT), band)


def load_oos_regimes(run_id: str) -> pd.Series | None:
    """The walk-forward (out-of-sample) regime label per test date of a training run, None if it logged none."""
    try:
        oos = read_run_csv(run_id, OOS_ARTIFACT)
    except ModelError:
        return None
    return oos_regimes(oos)


def oos_regimes(oos: pd.DataFrame) -> pd.Series | None:
    """The regime label per test date of a run's ``oos_predictions.csv`` as read by :func:`pandas.read_csv`."""
    if "regime" not in oos or "horizon" not in oos:
        return None
    labels = oos[oos.horizon == oos.horizon.min()].set_index("date")["regime"]
    labels.index = pd.to_datetime(labels.index)
    return labels


def regime_flips(
    model: RegimeModel,
    history: pd.DataFrame,
    obs: pd.Series,
    window: int = 21,
    zscored: bool = False,
    max_sd: float = 6.0,
    step: float = 0.01,
) -> pd.DataFrame:
    """Smallest single-observation moves today that would make another regime the most probable.

    Today's regime probabilities follow from the filter up to yesterday and today's
    observation (:meth:`step_state_proba` of the engine: for the HMM
    ``(p_{t-1} @ A) * b(x_t)`` normalised). For each observation alone (the others held at
    today's value) a grid of moves up to ``max_sd`` standard deviations (the regime model's
    training standardisation) is searched for the smallest one under which another regime wins.

    Parameters
    ----------
    model : fitted regime model
    history : pd.DataFrame
        Regime observations before today (columns ``model.columns_``).
    obs : pd.Series
        Today's observation (index: ``model.columns_``).
    window : int
        Window of the observations' moves (for :func:`describe_move`).
    zscored : bool
        Whether the observations are trailing z-scores (for :func:`describe_move`).
    max_sd, step : float
        Search range and resolution in standard deviations.

    Returns
    -------
    pd.DataFrame
        One row per (regime, observation) that can flip within the range, smallest
        |move| first: ``to_regime, observation, move_sd, move, value, new_value,
        new_proba`` (``move`` in the observation's own units) and ``change``
        (:func:`describe_move`).
    """
    cols = list(model.columns_)
    names = np.array(model.label_names, dtype=object)
    today = obs[cols].astype(float)
    current = names[model.aggregate(model.step_state_proba(history, today.to_frame().T)).argmax(axis=1)[0]]
    deltas = np.arange(-max_sd, max_sd + step / 2, step)
    rows = []
    for j, col in enumerate(cols):
        candidates = pd.DataFrame(np.repeat(today.to_numpy()[None, :], len(deltas), axis=0), columns=cols)
        candidates[col] += deltas * model.scale_[j]
        post = model.aggregate(model.step_state_proba(history, candidates))
        winner = names[post.argmax(axis=1)]
        for k, label in enumerate(names):
            if label == current:
                continue
            hit = np.flatnonzero(winner == label)
            if hit.size == 0:
                continue
            i = hit[np.argmin(np.abs(deltas[hit]))]
            move = deltas[i] * model.scale_[j]
            rows.append({"to_regime": label, "observation": col, "move_sd": deltas[i], "move": move,
                         "value": today[col], "new_value": today[col] + move, "new_proba": post[i, k],
                         "change": describe_move(col, today[col], today[col] + move, window, zscored)})
    out = pd.DataFrame(rows, columns=["to_regime", "observation", "move_sd", "move", "value", "new_value", "new_proba", "change"])
    return out.reindex(out.move_sd.abs().sort_values(kind="stable").index).reset_index(drop=True)


def describe_move(observation: str, value: float, new_value: float, window: int = 21, zscored: bool = False) -> str:
    """A flip move in plain units, e.g. ``VIX 20.4 -> 27.6`` or ``silver 21-day return +3.0% -> +9.1%``.

    Observations expressed as trailing z-scores are described in standard deviations.
    """
    if zscored:
        what = REGIME_OBSERVATIONS[observation][1] if observation in REGIME_OBSERVATIONS else observation
        return f"{observation} ({what}, z-score) {value:+.2f} -> {new_value:+.2f} sd"
    if observation == "vix":
        return f"VIX {np.exp(value):.1f} -> {np.exp(new_value):.1f}"
    if observation in ("real_yield", "breakeven"):
        label = "real 10y yield" if observation == "real_yield" else "10y breakeven"
        return f"{window}-day change in the {label} {value:+.2f} -> {new_value:+.2f} pp"
    return f"{observation} {window}-day return {format_pct(value)} -> {format_pct(new_value)}"


def current_state(
    pipeline: RegimeForecastPipeline,
    design: Design,
    expl: Explanation,
    errors: pd.DataFrame | None = None,
    band: tuple[float, float] = (0.1, 0.9),
    top: int = 5,
) -> NowState:
    """The latest date's :class:`NowState`.

    Parameters
    ----------
    pipeline : RegimeForecastPipeline
        Fitted chain with a regime HMM.
    design : Design
        Its design of the panel to score.
    expl : Explanation
        SHAP values covering (at least) the latest date.
    errors : pd.DataFrame, optional
        :func:`error_quantiles`, for the bands of a model without a forecast distribution.
    band : tuple of float
        Quantiles ``errors`` were computed with (for display).
    top : int
        Drivers to keep.
    """
    if pipeline.regime_ is None:
        raise ModelError("the model has no regime model (trained with use_regime=False)")
    pred = pipeline.predict_design(design).dropna(subset=["regime"])
    if pred.empty:
        raise DataError("no date with complete features to report on")
    date = pred.index[-1]
    labels = list(pipeline.regime_.label_names)
    proba = pred.loc[date, [f"p_{n}" for n in labels]].astype(float)
    proba.index = labels
    days, start = spell(pred["regime"])
    rows, fan = [], {}
    has_distribution = all(quantile_name(BAND[0], h) in pred for h in pipeline.horizons)
    source = "forecast distribution" if has_distribution else "out-of-sample errors" if errors is not None else "none"
    band = BAND if has_distribution else band
    for h in pipeline.horizons:
        fc = float(pred.loc[date, forecast_name(h)])
        row = {"horizon": h, "forecast": fc, "median": np.nan, "lo": np.nan, "hi": np.nan, "p_up": np.nan, "n_oos": 0}
        if has_distribution:
            at = pred.loc[date]
            row.update(median=float(at[quantile_name(0.5, h)]), lo=float(at[quantile_name(BAND[0], h)]),
                       hi=float(at[quantile_name(BAND[1], h)]), p_up=float(at[p_up_name(h)]))
            fan[h] = pipeline.distribution_.predict_quantiles(pred[forecast_name(h)].loc[[date]],
                                                              design.aligned["btc_usd"], h, GRID).iloc[0]
        elif errors is not None and h in errors.index:
            row.update(lo=fc + errors.loc[h, "lo"], hi=fc + errors.loc[h, "hi"], n_oos=int(errors.loc[h, "n"]))
        rows.append(row)
    outlook = pd.DataFrame(
        {n: [float(pred.loc[date, regime_forecast_name(n, h)]) for h in pipeline.horizons] for n in labels
         if all(regime_forecast_name(n, h) in pred for h in pipeline.horizons)},
        index=pd.Index(list(pipeline.horizons), name="horizon"))
    obs = design.regime_obs.iloc[design.regime_start():]
    fc = pipeline.feature_config
    flips = regime_flips(pipeline.regime_, obs.loc[obs.index < date], obs.loc[date], fc.regime_window,
                         zscored=bool(fc.regime_zscore_window))
    return NowState(
        date=date, regime=str(pred.loc[date, "regime"]), proba=proba, spell_days=days, spell_start=start,
        forecasts=pd.DataFrame(rows).set_index("horizon"), band=band,
        drivers=top_drivers(expl, date, top), narrative=narrative(expl, date, str(pred.loc[date, "regime"])),
        flips=flips, names=pipeline.regime_.state_match(), naming_notes=tuple(pipeline.regime_.naming_notes_),
        band_source=source, outlook=outlook, story=current_spell_sentence(pred["regime"], design.aligned),
        spell_left=float(pred.loc[date, SPELL_LEFT]) if SPELL_LEFT in pred else float("nan"), fan=fan,
    )
