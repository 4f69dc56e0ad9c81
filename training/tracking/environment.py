"""Does this Python environment match the one a model was logged with?

MLflow checks that itself when loading a model, but its check maps every installed module to
its distribution first (about half a second on each cold start). A model logged by this
product pins the exact versions of the few packages it needs (``requirements.txt``, from
:func:`training.tracking.model_io.pip_requirements`) and records its Python version in
``MLmodel``: comparing those directly costs a few milliseconds and says the same.
"""

from __future__ import annotations

import logging
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

logger = logging.getLogger(__name__)


def pinned_mismatches(requirements: list[str]) -> list[str]:
    """``name==version`` pins of ``requirements`` that the installed packages do not satisfy.

    Lines that are not exact pins (comments, ranges, options) are skipped.

    Returns
    -------
    list of str
        One ``"<name>==<pinned> (installed <version or none>)"`` per mismatch.
    """
    out = []
    for line in requirements:
        name, sep, pinned = line.split("#", 1)[0].strip().partition("==")
        if not sep or not name or any(c in name for c in "<>=!~;[ "):
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "none"
        if installed != pinned.strip():
            out.append(f"{name}=={pinned.strip()} (installed {installed})")
    return out


def warn_if_mismatched(model_folder: Path, python_version: str | None) -> list[str]:
    """Log one warning naming the packages (and Python) that differ from a model's pins; returns them.

    Parameters
    ----------
    model_folder : Path
        The model's local folder (with ``requirements.txt``; none means nothing is pinned).
    python_version : str, optional
        The Python version recorded in the model's ``MLmodel``; compared as major.minor.
    """
    req = model_folder / "requirements.txt"
    lines = req.read_text(encoding="utf-8").splitlines() if req.is_file() else []
    mismatches = pinned_mismatches(lines)
    here = platform.python_version()
    if python_version and python_version.split(".")[:2] != here.split(".")[:2]:
        mismatches.append(f"python {python_version} (running {here})")
    if mismatches:
        logger.warning("this model was logged with other package versions: %s; its results may differ",
                       ", ".join(mismatches))
    return mismatches
