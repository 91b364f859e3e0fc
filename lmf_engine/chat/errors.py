"""Errors of the chat engines. Each is caused by the user (a config, a request, a missing package or server)."""


class ChatError(Exception):
    """A chat engine cannot do what was asked; the message says why and what to do."""


class RequestError(ChatError):
    """A chat request is malformed: bad roles or order, empty messages, an unknown or out-of-range setting.

    ``param`` names the offending field when there is one (the API puts it in its error body).
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class BackendUnavailable(ChatError):
    """The chosen back end cannot run here (its package is not installed, or the model cannot do this)."""
