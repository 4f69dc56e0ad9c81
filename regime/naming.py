"""Name HMM states by a fixed rule on their means, so labels survive refits.

HMM state numbers are arbitrary: two fits of the same data can swap them. Names come
from the (standardised) state means of the observed macro moves instead:

* fear score       = vix + dollar - real_yield   (stress: VIX and the dollar up, real yields down)
* debasement score = breakeven - dollar          (inflation worry, a weakening dollar)

With two states, the state with the larger ``fear - debasement`` is **fear**, the other
**debasement**. With three, **fear** is the argmax of ``fear - debasement``,
**debasement** the argmax of ``debasement - fear`` among the rest, and the last state
is **calm**. Observation columns missing from the model are simply left out of the sums.
"""

from __future__ import annotations

import numpy as np

SCORE_WEIGHTS: dict[str, dict[str, float]] = {
    "fear": {"vix": 1.0, "dollar": 1.0, "real_yield": -1.0},
    "debasement": {"breakeven": 1.0, "dollar": -1.0},
}
LABELS_BY_COUNT: dict[int, tuple[str, ...]] = {2: ("fear", "debasement"), 3: ("fear", "debasement", "calm")}


def _score(means: np.ndarray, columns: list[str], weights: dict[str, float]) -> np.ndarray:
    return sum(
        (w * means[:, columns.index(c)] for c, w in weights.items() if c in columns),
        start=np.zeros(means.shape[0]),
    )


def name_states(means: np.ndarray, columns: list[str]) -> list[str]:
    """Label for each state (in the HMM's order) from its standardised mean vector.

    Parameters
    ----------
    means : ndarray of shape (n_states, n_features)
        State means in standardised units.
    columns : list of str
        Observation names, in the column order of ``means``.

    Returns
    -------
    list of str
        ``labels[i]`` names state ``i``.
    """
    k = means.shape[0]
    if k not in LABELS_BY_COUNT:
        raise ValueError(f"`n_states` must be 2 or 3. Got {k}.")
    tilt = _score(means, columns, SCORE_WEIGHTS["fear"]) - _score(means, columns, SCORE_WEIGHTS["debasement"])
    labels = [""] * k
    fear = int(np.argmax(tilt))
    labels[fear] = "fear"
    rest = [i for i in range(k) if i != fear]
    debasement = min(rest, key=lambda i: (tilt[i], i))
    labels[debasement] = "debasement"
    for i in rest:
        if i != debasement:
            labels[i] = "calm"
    return labels
