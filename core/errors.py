"""Errors the services raise for the UI and the API to show as they are."""


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
