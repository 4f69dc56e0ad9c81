"""Name regime states by the thesis's defining moves, so a name holds on every one of them.

A *signature* writes one regime as the moves that define it, each an expected direction of
a regime observation (or of any one of a group of observations) in the state's mean:

* ``"up"``: the state's mean is at least ``min_match`` standard deviations above average;
* ``"down"``: at least ``min_match`` below;
* ``"not up"`` / ``"not down"``: it is not an up (down) move (below ``+min_match``, above
  ``-min_match``);
* a key ``"liquidity|money|breakeven"`` holds when *any* of those observations moves so.

A state earns a name only when its mean moves agree with **every** defining move of the
signature: a conjunction, not a weighted sum, so no block of observations (VIX and
equities, say) can win a name alone. Its *match* with a signature is the margin of its
weakest defining move, in standard deviations (``>= 0``: every move holds; ``+0.3``: the
weakest one clears its bar by 0.3 sd). The defaults state the thesis and the regimes it
says are neither of its phases:

* **fear** (phase one): defensive capital goes *first* into gold and silver while Bitcoin
  lags: the metals up, over a month and a quarter, and beating BTC over both;
* **debasement** (phase two): Bitcoin catches up as liquidity, money or breakevens grow:
  BTC beating the metals over a month and a quarter, liquidity, money or breakevens up,
  the dollar not rising;
* **stress**: a liquidation: VIX up while the metals and equities are sold;
* **tightening**: real yields and the dollar up.

A state that meets no signature gets the neutral name **calm**; when it meets several,
the best match wins. Names depend on the state means only, never on the model's state
order, and a phase no state meets is reported rather than forced onto a state.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: The neutral name of a state that meets no signature.
NEUTRAL = "calm"
#: The thesis's two phases (the sequence it predicts runs from the first to the second).
FEAR, DEBASEMENT = "fear", "debasement"
#: Directions a defining move can take.
DIRECTIONS = ("up", "down", "not up", "not down")
#: Regimes as their defining moves on the regime observations: the thesis's two phases,
#: then two named regimes that are neither.
DEFAULT_SIGNATURES: dict[str, dict[str, str]] = {
    FEAR: {"metals": "up", "metals_63": "up", "metals_vs_btc": "up", "metals_vs_btc_63": "up"},
    DEBASEMENT: {"metals_vs_btc": "down", "metals_vs_btc_63": "down", "liquidity|money|breakeven": "up",
                 "dollar": "not up"},
    "stress": {"vix": "up", "metals": "down", "equity": "down"},
    "tightening": {"real_yield": "up", "dollar": "up"},
}
#: Smallest standardised move of a state's mean that counts as up or down.
MIN_MATCH = 0.2

Signatures = Mapping[str, Mapping[str, str]]


def regime_names(signatures: Signatures | None = None) -> tuple[str, ...]:
    """Every name a state can get: the signatures in order, then the neutral name."""
    return (*(signatures if signatures is not None else DEFAULT_SIGNATURES), NEUTRAL)


def check_signatures(signatures: Signatures) -> None:
    """Raise ``ValueError`` naming the entry for an empty signature, an unknown direction or a regime named ``calm``."""
    if not signatures:
        raise ValueError("`signatures` must name at least one regime")
    for name, moves in signatures.items():
        if name == NEUTRAL:
            raise ValueError(f"`signatures`: '{NEUTRAL}' is the neutral name and cannot be a signature")
        if not isinstance(moves, Mapping) or not moves:
            raise ValueError(f"`signatures.{name}` lists no defining move")
        for key, direction in moves.items():
            if not all(part.strip() for part in str(key).split("|")):
                raise ValueError(f"`signatures.{name}`: '{key}' is not an observation or a|b group")
            if direction not in DIRECTIONS:
                raise ValueError(f"`signatures.{name}.{key}` must be one of {', '.join(map(repr, DIRECTIONS))}. "
                                 f"Got {direction!r}.")


def _margin(mu: np.ndarray, direction: str, min_match: float) -> np.ndarray:
    """How far each state's mean clears a direction's bar (``>= 0``: the move holds)."""
    return {"up": mu - min_match, "down": -mu - min_match,
            "not up": min_match - mu, "not down": mu + min_match}[direction]


def signature_scores(means: np.ndarray, columns: list[str], signatures: Signatures | None = None,
                     min_match: float = MIN_MATCH) -> pd.DataFrame:
    """Match of every state with every signature: the margin of its weakest defining move.

    Parameters
    ----------
    means : ndarray of shape (n_states, n_features)
        State means in standardised units (standard deviations of each observation).
    columns : list of str
        Observation names, in the column order of ``means``.
    signatures : mapping, optional
        Name -> {observation or ``a|b`` group: direction}; default :data:`DEFAULT_SIGNATURES`.
    min_match : float
        Standardised move that counts as up or down.

    Returns
    -------
    pd.DataFrame
        Rows ``state_0 ...``, one column per signature; ``>= 0`` where the state meets every
        defining move the model observes (moves on observations it lacks are left out). NaN
        where it observes none of them: no state gets that name.
    """
    signatures = DEFAULT_SIGNATURES if signatures is None else signatures
    means = np.atleast_2d(np.asarray(means, dtype=float))
    out = {}
    for name, moves in signatures.items():
        margins = [np.full(len(means), np.nan)]  # no observed move: cannot be judged
        for key, direction in moves.items():
            idx = [columns.index(c.strip()) for c in str(key).split("|") if c.strip() in columns]
            if idx:  # a group holds when any member does: its best member's margin
                margins.append(np.max(_margin(means[:, idx], direction, min_match), axis=1))
        out[name] = np.min(np.column_stack(margins[1:]), axis=1) if len(margins) > 1 else margins[0]
    return pd.DataFrame(out, index=[f"state_{i}" for i in range(len(means))])


def name_states(
    means: np.ndarray, columns: list[str], signatures: Signatures | None = None, min_match: float = MIN_MATCH
) -> list[str]:
    """Name of each state (in the model's order): the signature it meets best, or ``calm``.

    Parameters
    ----------
    means, columns, signatures, min_match
        See :func:`signature_scores`.

    Returns
    -------
    list of str
        ``labels[i]`` names state ``i``; several states may share a name.
    """
    scores = signature_scores(means, columns, signatures, min_match).fillna(-np.inf)
    labels = []
    for _, row in scores.iterrows():
        best = str(row.idxmax()) if len(row) else NEUTRAL
        labels.append(best if row.get(best, -np.inf) >= 0 else NEUTRAL)
    return labels


def naming_notes(scores: pd.DataFrame, labels: list[str], phases: tuple[str, ...] = (FEAR, DEBASEMENT)) -> list[str]:
    """Plain sentences on what could not be named: the thesis's phases no state meets.

    Parameters
    ----------
    scores : pd.DataFrame
        Output of :func:`signature_scores`.
    labels : list of str
        Output of :func:`name_states` for the same states.
    phases : tuple of str
        The names whose absence is worth a sentence (the thesis's phases); the other
        signatures (stress, tightening) are descriptions a model need not have.

    Returns
    -------
    list of str
        Empty when every phase has a state; otherwise one sentence per missing phase with
        the best state's weakest move, and one more when no state could be named at all.
    """
    notes = []
    for phase in (p for p in scores.columns if p in phases):
        if phase in labels:
            continue
        col = scores[phase]
        if col.isna().all():
            notes.append(f"no state can be named {phase}: the model observes none of some defining move")
        else:
            notes.append(f"no state meets every defining move of {phase} "
                         f"(closest {col.idxmax()}: its weakest move misses by {-col.max():.2f} sd)")
    if labels and all(label == NEUTRAL for label in labels):
        notes.append("the model's states cannot be named by the thesis: every state is calm")
    return notes


#: A defining move as a point in standardised units: where a state with it would sit.
_PROTOTYPE_MOVE = {"up": 1.0, "down": -1.0, "not up": 0.0, "not down": 0.0}


def prototypes(columns: list[str], n_states: int, signatures: Signatures | None = None) -> np.ndarray:
    """Where each state starts, and is drawn towards, in a thesis-anchored fit: one point per signature.

    State ``i < n_states - 1`` is the ``i``-th signature written as a point in standardised
    units (a move ``"up"`` at +1 sd, ``"down"`` at -1, ``"not up"`` and ``"not down"`` at
    0, a group's ``n`` members at ``1/n`` of that: any of them may carry it; observations a
    signature does not mention at 0); the last state is the neutral one, at the average (0). With fewer states
    than signatures + 1, the later signatures are left out.

    Parameters
    ----------
    columns : list of str
        Observation names (the model's columns).
    n_states : int
        Number of states.
    signatures : mapping, optional
        Default :data:`DEFAULT_SIGNATURES`.

    Returns
    -------
    ndarray of shape (n_states, len(columns))
    """
    signatures = DEFAULT_SIGNATURES if signatures is None else signatures
    out = np.zeros((int(n_states), len(columns)))
    for row, moves in zip(out[: int(n_states) - 1], signatures.values()):
        for key, direction in moves.items():
            members = [c.strip() for c in str(key).split("|") if c.strip() in columns]
            for c in members:
                row[columns.index(c)] = _PROTOTYPE_MOVE[direction] / len(members)
    return out
