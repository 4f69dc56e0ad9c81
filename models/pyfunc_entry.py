"""Entry file for MLflow's models-from-code logging: names the pyfunc class to load.

Logged as ``python_model=<this file>`` so MLflow stores source, not a cloudpickled
object; the fitted pipeline itself travels as an artifact (see ``models.pyfunc``).
"""

from mlflow.models import set_model

from models.pyfunc import RegimeForecastModel

set_model(RegimeForecastModel())
