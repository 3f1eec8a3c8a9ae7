"""What every REST handler shares: the ``Handler`` type, reading a checked request, writing answers.

Its one job is conversion: typed query values and JSON bodies read as Asterisk reads them
(the server has already checked presence and allowable values), and ``SimResponse`` built
from a body.  It must not know any resource nor change any state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from .. import errors
from ..backend import SimRequest, SimResponse

if TYPE_CHECKING:
    from .world import World

#: A REST handler: parse the request, call the world's engines, serialise the answer.
Handler = Callable[["World", SimRequest], SimResponse]


def q(req: SimRequest, name: str, default: Optional[str] = None) -> Optional[str]:
    value = req.query.get(name)
    if value is None and isinstance(req.body, dict) and isinstance(req.body.get(name), str):
        value = req.body[name]  # Asterisk also takes parameters from a JSON body
    return default if value is None else value


def need(req: SimRequest, name: str, message: str) -> str:
    value = q(req, name)
    if value is None or value == "":
        raise errors.MissingParameter(message)
    return value


def q_int(req: SimRequest, name: str, default: int) -> int:
    value = q(req, name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise errors.NotAnInteger(name) from None


def q_bool(req: SimRequest, name: str, default: bool = False) -> bool:
    value = q(req, name)
    if value is None:
        return default
    return value.lower() in ("true", "1", "yes", "on")


def q_list(req: SimRequest, name: str) -> List[str]:
    value = q(req, name) or ""
    return [v for v in (p.strip() for p in value.split(",")) if v]


def body_vars(req: SimRequest) -> Dict[str, str]:
    """``{"variables": {...}}`` (or a bare object) -> str values."""
    body = req.body
    if not isinstance(body, dict):
        return {}
    inner = body.get("variables", body)
    if not isinstance(inner, dict):
        raise errors.InvalidVariables()
    return {str(k): "" if v is None else str(v) for k, v in inner.items()}


def ok(body: Any = None, status: int = 200, **headers: str) -> SimResponse:
    if body is None and status == 200:
        return SimResponse(204)
    return SimResponse(status, body, headers=dict(headers))


def no_content() -> SimResponse:
    return SimResponse(204)
