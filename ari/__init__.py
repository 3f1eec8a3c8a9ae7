"""ari: a Python client for the Asterisk REST Interface, built from the server's own description.

import ari
client = ari.connect("http://localhost:8088", "asterisk", "asterisk")
for channel in client.channels.list():
    print(channel.name)
"""

import logging
import typing as _typing

from .backoff import Backoff
from .client import ClientState

if _typing.TYPE_CHECKING:  # the typed view (ari/types.pyi, generated): a Client with typed resources
    from .types import Client, connect, connect_async
else:
    from .client import Client, connect, connect_async
from .errors import (
    ARIError,
    AuthenticationError,
    BadRequest,
    ClosedError,
    Conflict,
    ConnectionError,
    Forbidden,
    HTTPError,
    MediaError,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    ResponseError,
    ServerError,
    SpecError,
    Timeout,
    UnprocessableEntity,
    ValidationError,
)
from .events import Event
from .outbound import Server, serve
from .resources import Resource

__version__ = "0.1.0"

__all__ = [
    "ARIError",
    "AuthenticationError",
    "Backoff",
    "BadRequest",
    "Client",
    "ClientState",
    "ClosedError",
    "Conflict",
    "ConnectionError",
    "Event",
    "Forbidden",
    "HTTPError",
    "MediaError",
    "MethodNotAllowed",
    "NotFound",
    "PreconditionFailed",
    "Resource",
    "ResponseError",
    "Server",
    "ServerError",
    "SpecError",
    "Timeout",
    "UnprocessableEntity",
    "ValidationError",
    "__version__",
    "connect",
    "connect_async",
    "serve",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
