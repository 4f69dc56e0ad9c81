"""The MLflow pyfunc model: the whole chain behind ``predict(panel)``.

Contract: ``predict`` takes a flat frame with a ``date`` column (ISO strings or
datetimes) and one column per raw series id (extra columns are ignored) and returns
``date``, ``regime``, ``p_<label>`` and ``forecast_<h>d``, then the forecast distribution
(``q10/q50/q90_<h>d``, ``p_up_<h>d``) and the regime forecast (``p_<label>_<h>d``,
``spell_left_days``), one row per business day whose
answer is exact: the same as the full history would give (:mod:`models.history`); an input
too short for that is refused with how much history is needed. ``params={"last": N}``
returns only the latest N rows (a warm daily update), all of which must be exact. Input
goes through the same checks as every data source: dates by one rule
(:mod:`features.dates`), numbers or missing values only, plausible values
(:mod:`features.plausibility`; the series accepted when the model was trained, and those in
``params={"accept_implausible": [...]}``, are warned about instead) and no hole inside a series
(:mod:`features.gaps`; likewise ``bridge_gaps``). The fitted :class:`~models.pipeline.RegimeForecastPipeline` is stored as
a joblib artifact next to ``model_info.json`` (data settings, horizons, labels).

Loading an MLflow model runs pickled code: load models only from stores you trust.
"""

from __future__ import annotations

import json
from typing import Any

import joblib
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE

from features.errors import ModelError, RegimeError
from features.gaps import check_gaps
from features.plausibility import check_plausibility
from models.pipeline import RegimeForecastPipeline, panel_from_frame

PIPELINE_ARTIFACT = "pipeline"
INFO_ARTIFACT = "model_info"


class _CauseOnly(MlflowException):
    """An MLflow error whose message stays the cause alone, without a stack trace.

    MLflow's scoring server rewrites the message of an MlflowException as "Failed to predict
    data '<the whole input>'. Error: <cause>"; keeping the first value makes the answer short,
    cause first, and never echoes the request.
    """

    @property
    def message(self) -> str:
        """The cause, as first given."""
        return self._cause

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_cause"):
            self._cause = value


class InvalidModelInput(ModelError, _CauseOnly):
    """Input the model cannot use: a one-line :class:`ModelError` for the CLI and, for
    ``mlflow models serve``, an ``INVALID_PARAMETER_VALUE`` (HTTP 400 naming the cause, no traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)


class ModelFailure(_CauseOnly):
    """The model failed on an input it accepted (a bug): HTTP 500 naming the exception, no traceback, no echo."""

    def __init__(self, exc: BaseException) -> None:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else "no detail"
        super().__init__(f"the model failed on this input: {type(exc).__name__}: {text[:200]}", error_code=INTERNAL_ERROR)


def rows_asked(params: dict[str, Any] | None) -> int | None:
    """``params["last"]``: how many of the latest rows to answer (None: every exact row).

    Raises
    ------
    InvalidModelInput
        Naming ``last`` when it is not a whole number >= 0.
    """
    value = (params or {}).get("last", 0)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidModelInput(f"params `last` must be a whole number of rows >= 0 (0 or absent: every exact row). "
                                f"Got {str(value)[:40]!r}.")
    return int(value) or None


class RegimeForecastModel(mlflow.pyfunc.PythonModel):
    """Stateless wrapper; the fitted pipeline is loaded from the model's artifacts."""

    def load_context(self, context: Any) -> None:
        self.pipeline: RegimeForecastPipeline = joblib.load(context.artifacts[PIPELINE_ARTIFACT])
        with open(context.artifacts[INFO_ARTIFACT], encoding="utf-8") as fh:
            self.info: dict[str, Any] = json.load(fh)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        try:
            panel = panel_from_frame(pd.DataFrame(model_input), series=self.pipeline.input_series_)
            stored = self.info.get("config", {}).get("data", {})
            check_gaps(panel, [*stored.get("bridge_gaps", ()), *(params or {}).get("bridge_gaps", ())], "model input")
            accepted = [*stored.get("accept_implausible", ()), *(params or {}).get("accept_implausible", ())]
            check_plausibility(panel, accepted, origins="model input")
            out = self.pipeline.predict(panel, last=rows_asked(params), exact=True)
        except InvalidModelInput:
            raise
        except RegimeError as exc:
            raise InvalidModelInput(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a served request must not see a traceback
            raise ModelFailure(exc) from exc
        out["date"] = out["date"].dt.strftime("%Y-%m-%d")
        return out
