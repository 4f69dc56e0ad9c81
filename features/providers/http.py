"""The default :data:`~features.providers.base.Fetcher`: an HTTP GET with ``requests``."""

from __future__ import annotations

import re

import requests

from features.providers.base import NetworkError, ProviderError

#: Yahoo answers 429 to clients without a browser-like User-Agent.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) btc-regime/0.1"
TIMEOUT_SECONDS = 20.0

_SECRET = re.compile(r"(api_key=)[^&]+")


def redact(url: str) -> str:
    """Return ``url`` with any ``api_key`` query value replaced by ``***``."""
    return _SECRET.sub(r"\1***", url)


def fetch_text(url: str) -> str:
    """GET ``url`` and return the body as text.

    Parameters
    ----------
    url : str
        Full URL including the query string.

    Returns
    -------
    str
        The response body.

    Raises
    ------
    NetworkError
        No connection, DNS failure or timeout.
    ProviderError
        Any HTTP status other than 2xx; the message holds the status and the start of the body.
    """
    try:
        response = requests.get(url, headers={"User-Agent": USER_AGENT}, timeout=TIMEOUT_SECONDS)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise NetworkError(f"cannot reach {redact(url)} ({type(exc).__name__})") from None
    except requests.RequestException as exc:
        raise ProviderError(f"request to {redact(url)} failed ({type(exc).__name__})") from None
    if not response.ok:
        snippet = " ".join(response.text[:200].split())
        raise ProviderError(f"HTTP {response.status_code} from {redact(url)}: {snippet}")
    return response.text
