"""URLs as they may be shown, logged and stored: without their passwords.

Store and lock URLs can carry a password (``postgresql://user:secret@host/db``,
``http://user:secret@host``); it must reach no log line, run parameter or stored config.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: What replaces a password.
HIDDEN = "***"


def hide_password(url: str) -> str:
    """``url`` with the password of its user part and a ``password=`` query parameter hidden.

    Parameters
    ----------
    url : str
        Any URL or plain text (a path is returned as it is).

    Returns
    -------
    str
    """
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{HIDDEN}@{host}"
    query = parts.query
    if "password" in {k.lower() for k, _ in parse_qsl(query, keep_blank_values=True)}:
        query = urlencode([(k, HIDDEN if k.lower() == "password" else v)
                           for k, v in parse_qsl(query, keep_blank_values=True)], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))
