"""ari: a Python client for the Asterisk REST Interface, built from the server's own description.

import ari
client = ari.connect("http://localhost:8088", "asterisk", "asterisk")
for channel in client.channels.list():
    print(channel.name)
"""

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the typed view (ari/types.pyi, generated): a Client with typed resources
    from .types import Client, connect, connect_async
else:
    from .client import Client, connect, connect_async
from .errors import (
    ARIError,
    AuthenticationError,
    BadRequest,
    Conflict,
    ConnectionError,
    Forbidden,
    HTTPError,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    ServerError,
    SpecError,
    Timeout,
    UnprocessableEntity,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "ARIError",
    "AuthenticationError",
    "BadRequest",
    "Client",
    "Conflict",
    "ConnectionError",
    "Forbidden",
    "HTTPError",
    "MethodNotAllowed",
    "NotFound",
    "PreconditionFailed",
    "ServerError",
    "SpecError",
    "Timeout",
    "UnprocessableEntity",
    "ValidationError",
    "__version__",
    "connect",
    "connect_async",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
