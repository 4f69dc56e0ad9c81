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
``params={"accept_implausible": [...]}``, are warned about instead). The fitted :class:`~models.pipeline.RegimeForecastPipeline` is stored as
a joblib artifact next to ``model_info.json`` (data settings, horizons, labels).

Loading an MLflow model runs pickled code: load models only from stores you trust.
"""

from __future__ import annotations

import json
from typing import Any

import joblib
import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from features.errors import ModelError, RegimeError
from features.plausibility import check_plausibility
from models.pipeline import RegimeForecastPipeline, panel_from_frame

PIPELINE_ARTIFACT = "pipeline"
INFO_ARTIFACT = "model_info"


class InvalidModelInput(ModelError, MlflowException):
    """Input the model cannot use: a one-line :class:`ModelError` for the CLI and, for
    ``mlflow models serve``, an ``INVALID_PARAMETER_VALUE`` (HTTP 400 naming the cause, no traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        """The cause, as first given."""
        return self._cause

    @message.setter
    def message(self, value: str) -> None:
        # MLflow's scoring server rewrites the message as "Failed to predict data '<the whole
        # input>'. Error: <cause>"; keeping the first value makes the 400 short, cause first.
        if not hasattr(self, "_cause"):
            self._cause = value


class RegimeForecastModel(mlflow.pyfunc.PythonModel):
    """Stateless wrapper; the fitted pipeline is loaded from the model's artifacts."""

    def load_context(self, context: Any) -> None:
        self.pipeline: RegimeForecastPipeline = joblib.load(context.artifacts[PIPELINE_ARTIFACT])
        with open(context.artifacts[INFO_ARTIFACT], encoding="utf-8") as fh:
            self.info: dict[str, Any] = json.load(fh)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        try:
            panel = panel_from_frame(pd.DataFrame(model_input), series=self.pipeline.input_series_)
            accepted = [*self.info.get("config", {}).get("data", {}).get("accept_implausible", ()),
                        *(params or {}).get("accept_implausible", ())]
            check_plausibility(panel, accepted, origins="model input")
            last = int((params or {}).get("last", 0)) or None
            out = self.pipeline.predict(panel, last=last, exact=True)
        except RegimeError as exc:
            raise InvalidModelInput(str(exc)) from None
        out["date"] = out["date"].dt.strftime("%Y-%m-%d")
        return out
