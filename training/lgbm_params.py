"""``[model] lgbm_params`` checked by LightGBM itself, before any work.

LightGBM checks its parameters only when a booster is built, which a training reaches after
loading data and starting its walk-forward; a wrong value then ended in ``unexpected
LightGBMError: Check failed: (num_leaves) > (1) at .../config_auto.cpp, line 352``. Here the
overrides are given to a one-tree fit on a tiny table, and whatever LightGBM (or its
scikit-learn wrapper) refuses becomes one line naming the key.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

from features.errors import ConfigError

#: The trailing source location of LightGBM's checks (`` at /__w/.../config_auto.cpp, line 352 .``).
_WHERE = re.compile(r"\s+at\s+\S+,\s+line\s+\d+\s*\.?\s*$")


def check_lgbm_params(params: dict[str, Any], key: str = "lgbm_params") -> None:
    """Refuse LightGBM parameters that LightGBM would refuse, or that it does not know.

    Parameters
    ----------
    params : dict
        Overrides of ``models.forecaster.DEFAULT_LGBM_PARAMS``.
    key : str
        The config key, for messages.

    Raises
    ------
    ConfigError
        Naming ``key``, the parameter and LightGBM's reason, e.g. ``lgbm_params: num_leaves = 1
        is refused by LightGBM (Check failed: (num_leaves) > (1))``.
    """
    import numpy as np
    from lightgbm import LGBMRegressor
    from lightgbm.basic import LightGBMError, _ConfigAliases

    known = set(LGBMRegressor().get_params()) | {a for names in _ConfigAliases._get_all_param_aliases().values()
                                                 for a in names}
    unknown = sorted(k for k in params if k not in known)
    if unknown:
        raise ConfigError(f"`{key}`: {', '.join(unknown)} {'is not a LightGBM parameter' if len(unknown) == 1 else 'are not LightGBM parameters'} "
                          "(see https://lightgbm.readthedocs.io/en/stable/Parameters.html)")
    from models.forecaster import DEFAULT_LGBM_PARAMS

    trial = {**DEFAULT_LGBM_PARAMS, **params}
    rounds = trial.get("n_estimators")
    if isinstance(rounds, int) and not isinstance(rounds, bool) and rounds > 0:
        trial["n_estimators"] = 1  # one tree is enough for LightGBM to check every parameter
    x = np.random.default_rng(0).normal(size=(64, 2))
    try:
        with _silenced():
            LGBMRegressor(**trial).fit(x, x[:, 0])
    except (LightGBMError, ValueError, TypeError) as exc:
        reason = _WHERE.sub("", str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        named = [f"{k} = {v!r}" for k, v in params.items() if re.search(rf"\b{re.escape(k)}\b", str(exc))]
        what = ", ".join(named) or ", ".join(f"{k} = {v!r}" for k, v in params.items())
        raise ConfigError(f"`{key}`: {what} is refused by LightGBM ({reason})") from None


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """Standard output and error sent nowhere, at the file-descriptor level.

    LightGBM's C++ core prints ``[LightGBM] [Fatal] ...`` straight to the process's streams
    before raising; the ConfigError says it in one line instead.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
