"""The measured skill that goes beside every forecast a person reads.

Read from the model's own training run (``evaluation/metrics.json``,
:func:`training.tracking.runs.read_run_figures`): per horizon the walk-forward IC and OOS R²
against the expanding mean with their 90% block-bootstrap intervals, the same R² of the model
without regime features, and the R² against the mean on the sealed segment. A horizon has
*reliable* skill only when both intervals lie above zero and it did not lose to the mean on the
sealed segment; otherwise the forecast is read as the historical drift, and the line says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_SKILL = "No reliable skill out of sample: read this as the historical drift."
UNKNOWN = "Skill: the model's training run logged no out-of-sample figures, so treat its forecasts as unproven."


@dataclass(frozen=True)
class HorizonSkill:
    """Out-of-sample figures of one horizon's forecast (NaN where the run has none)."""

    horizon: int
    ic: float
    ic_lo: float
    ic_hi: float
    r2: float
    r2_lo: float
    r2_hi: float
    sealed_r2: float
    no_regime_r2: float

    @property
    def reliable(self) -> bool:
        """Both intervals above zero, and no loss to the expanding mean on the sealed segment."""
        return bool(self.ic_lo > 0 and self.r2_lo > 0 and not self.sealed_r2 <= 0)


def horizon_skill(figures: dict[str, float], horizon: int) -> HorizonSkill | None:
    """The :class:`HorizonSkill` of ``horizon`` in a run's figures (None when the run scored no such horizon)."""
    get = lambda key: float(figures.get(f"{key}.{horizon}d", np.nan))  # noqa: E731
    if not np.isfinite(get("model.r2_oos")):
        return None
    return HorizonSkill(horizon, get("model.ic"), get("model.ic_lo"), get("model.ic_hi"), get("model.r2_oos"),
                        get("model.r2_lo"), get("model.r2_hi"), get("sealed.model.r2_mean"), get("no_regime.r2_oos"))


def _num(v: float, fmt: str = "+.3f") -> str:
    return "–" if not np.isfinite(v) else format(v, fmt).replace("-", "−")


def _interval(v: float, lo: float, hi: float, fmt: str) -> str:
    return _num(v, fmt) + ("" if not np.isfinite(lo) else f" [{_num(lo, '+.2f')}, {_num(hi, '+.2f')}]")


def _verdict(skills: list[HorizonSkill]) -> str:
    weak = [s.horizon for s in skills if not s.reliable]
    if not weak:
        return "Its intervals exclude zero and it beat the mean on the sealed segment."
    if len(weak) == len(skills):
        return NO_SKILL
    days = " and ".join(str(h) for h in weak)
    return f"At {days} days: no reliable skill out of sample: read {'this' if len(weak) == 1 else 'these'} as the historical drift."


def skill_line(figures: dict[str, float], horizons: tuple[int, ...], sealed: tuple[str, str] | None = None) -> str:
    """One line of every horizon's measured skill, ending with the plain-words verdict.

    Parameters
    ----------
    figures : dict
        The run's figures (:func:`training.tracking.runs.read_run_figures`).
    horizons : tuple of int
        The forecasts shown.
    sealed : tuple of str, optional
        First and last date of the sealed segment.
    """
    skills = [s for h in horizons if (s := horizon_skill(figures, h)) is not None]
    if not skills:
        return UNKNOWN
    days = " / ".join(str(s.horizon) for s in skills)
    join = lambda parts: " / ".join(parts)  # noqa: E731
    line = (f"Measured skill out of sample (walk-forward, 90% intervals) at {days} days: R² vs the expanding mean "
            f"{join(_interval(s.r2, s.r2_lo, s.r2_hi, '+.3f') for s in skills)}; IC "
            f"{join(_interval(s.ic, s.ic_lo, s.ic_hi, '+.2f') for s in skills)}")
    if any(np.isfinite(s.no_regime_r2) for s in skills):
        line += f"; without the regimes R² {join(_num(s.no_regime_r2) for s in skills)}"
    if any(np.isfinite(s.sealed_r2) for s in skills):
        window = f" {sealed[0]} → {sealed[1]}" if sealed else ""
        line += f"; sealed segment{window}: R² vs the mean {join(_num(s.sealed_r2) for s in skills)}"
    return f"{line}. {_verdict(skills)}"


def skill_note(figures: dict[str, float], horizon: int) -> str:
    """The short form beside one headline forecast: its R² and IC with intervals, the sealed R², the verdict."""
    s = horizon_skill(figures, horizon)
    if s is None:
        return UNKNOWN
    sealed = f"; sealed segment {_num(s.sealed_r2)}" if np.isfinite(s.sealed_r2) else ""
    return (f"Skill at {horizon} days: R² vs the expanding mean {_interval(s.r2, s.r2_lo, s.r2_hi, '+.3f')}, "
            f"IC {_interval(s.ic, s.ic_lo, s.ic_hi, '+.2f')}{sealed}. {_verdict([s])}")
