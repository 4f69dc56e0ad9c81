"""A remote tracking server, checked before the work: one line when it does not answer.

MLflow's client retries a request that cannot connect for minutes (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``,
``MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR``), which rides out a server restart during a job but
leaves a command started while the server is down silent for minutes. One request with a
short timeout tells it at once.
"""

from __future__ import annotations

from features.errors import StoreError
from training.tracking.credentials import hide_password

#: Seconds to wait for the server's answer.
TIMEOUT = 10.0


def check_server(uri: str) -> None:
    """Refuse, in one :class:`StoreError` line naming it, a tracking server that does not answer.

    Any HTTP answer to ``<uri>/health`` counts (a proxy may not route it); only a connection
    that fails or times out is refused.

    Parameters
    ----------
    uri : str
        ``http(s)://host:port[/prefix]``.
    """
    import requests

    try:
        requests.get(f"{uri.rstrip('/')}/health", timeout=TIMEOUT)
    except requests.RequestException as exc:
        reason = type(exc).__name__ if not isinstance(exc, requests.ConnectionError) else "connection failed"
        raise StoreError(f"MLflow tracking server {hide_password(uri)} does not answer ({reason}); nothing was "
                         "changed. Start it, or check MLFLOW_TRACKING_URI") from None
