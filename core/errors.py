"""Errors the services raise for the UI and the API to show as they are."""

from pathlib import Path


class UserError(ValueError):
    """Bad input or a request that the current state does not allow; the message is for people."""

    status_code = 400


class NotFound(UserError):
    status_code = 404


class Conflict(UserError):
    status_code = 409


class Busy(UserError):
    """A capacity limit is reached; trying again later may work."""

    status_code = 503


def describe_os_error(exc: OSError) -> str:
    """A sentence for people from an operating-system error: what went wrong, and with which file (its
    name only: a full path may be the server's own, and says nothing more to the person)."""
    where = f": {Path(exc.filename).name}" if exc.filename else ""
    return f"{exc.strerror or exc.__class__.__name__}{where}."
