"""The exception tree of the ``ari`` package; nothing else lives here.

::

    ARIError
     ├── ConnectionError        host unreachable, connection refused or dropped (also a builtins.ConnectionError)
     │    └── Timeout           no answer within the client's timeout (also a builtins.TimeoutError)
     ├── SpecError              an API description that cannot be used: which file, what is wrong
     ├── ResponseError          an answer that cannot be read, or not of the shape the description gives
     ├── ClosedError            a call on a closed client (also a RuntimeError)
     ├── ValidationError        bad parameters, caught before anything is sent (also a ValueError)
     ├── MediaError             a call's audio (ari.media) could not be opened, read or written
     └── HTTPError              Asterisk answered with an error status
          ├── BadRequest            400
          ├── AuthenticationError   401
          ├── Forbidden             403
          ├── NotFound              404
          ├── MethodNotAllowed      405
          ├── Conflict              409
          ├── PreconditionFailed    412
          ├── UnprocessableEntity   422
          └── ServerError           5xx

Messages never contain credentials: URLs are shown without user info or api_key.  Long
bodies and URLs are cut short in messages (``shorten``): the whole text stays on the attributes.
"""

from __future__ import annotations

import builtins
import json
from typing import Dict, Mapping, Optional, Type


class ARIError(Exception):
    """Root of every exception raised by ``ari``."""


class ConnectionError(ARIError, builtins.ConnectionError):  # noqa: A001 - the public name
    """The server could not be reached, or the connection broke."""

    def __init__(self, message: str, url: Optional[str] = None) -> None:
        super().__init__(message)
        self.url = url

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Timeout(ConnectionError, builtins.TimeoutError):
    """The server did not answer within the timeout."""


class SpecError(ARIError):
    """An API description that cannot be used; ``location`` says where."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location
        self.problem = problem


class ResponseError(ARIError):
    """An answer that cannot be read (invalid JSON, a broken body) or has the wrong shape."""


class ClosedError(ARIError, RuntimeError):
    """The client was closed: it sends nothing more."""


class ValidationError(ARIError, ValueError):
    """Parameters rejected before sending; names the operation and parameter."""

    def __init__(self, operation: str, parameter: Optional[str], problem: str) -> None:
        where = f"{operation}: parameter {parameter!r}" if parameter else operation
        super().__init__(f"{where}: {problem}")
        self.operation = operation
        self.parameter = parameter
        self.problem = problem


class HTTPError(ARIError):
    """Asterisk answered with an error status.

    ``message`` is Asterisk's own (the JSON ``message``, or the body text);
    ``reason`` is what the API description says that status means for the
    operation, when it says anything.
    """

    status_code: int = 0

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        method: str = "",
        url: str = "",
        operation: Optional[str] = None,
        reason: Optional[str] = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.method = method
        self.url = url
        self.operation = operation
        self.reason = reason
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"{self.status_code}"
        if self.reason:
            text += f" ({self.reason})"
        text += f": {self.message}" if self.message else ""
        if self.operation:
            text += f" [{self.operation}: {self.method} {self.url}]"
        elif self.method:
            text += f" [{self.method} {self.url}]"
        return text


class BadRequest(HTTPError):
    status_code = 400


class AuthenticationError(HTTPError):
    status_code = 401


class Forbidden(HTTPError):
    status_code = 403


class NotFound(HTTPError):
    status_code = 404


class MethodNotAllowed(HTTPError):
    status_code = 405


class Conflict(HTTPError):
    status_code = 409


class PreconditionFailed(HTTPError):
    status_code = 412


class UnprocessableEntity(HTTPError):
    status_code = 422


class ServerError(HTTPError):
    status_code = 500


#: the longest body or URL a message quotes
MESSAGE_LIMIT = 500


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters for a message, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


_BY_STATUS: Dict[int, Type[HTTPError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        AuthenticationError,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PreconditionFailed,
        UnprocessableEntity,
    )
}


def error_class(status_code: int) -> Type[HTTPError]:
    """The HTTPError subclass for a status code."""
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, HTTPError)


def http_error(
    status_code: int,
    body: str,
    *,
    method: str,
    url: str,
    operation: Optional[str],
    reasons: Mapping[int, str],
    reason: str,
) -> HTTPError:
    """The error for an answer with an error status, from either transport.

    ``message`` is Asterisk's JSON ``message`` (or the body's text); ``reason`` is the
    description's meaning of the status for the operation, else the status line's.
    """
    message = body.strip()
    try:
        data = json.loads(body) if message else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        message = str(data.get("message") or data.get("error") or message)
    return error_class(status_code)(
        status_code, message, method=method, url=url, operation=operation, reason=reasons.get(status_code) or reason
    )


class MediaError(ARIError):
    """A call's media could not be opened, read or written (``ari.media``): says what and why."""
