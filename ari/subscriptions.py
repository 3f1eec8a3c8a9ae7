"""Event sources subscribed with ``applications.subscribe``, so a reconnect can restore them.

Its one job is bookkeeping: note every successful subscribe and unsubscribe call, however
it was made, and replay them.  It must not touch the WebSocket (stream.py does).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence
from urllib.parse import unquote

from .errors import ARIError
from .http import Transport

log = logging.getLogger(__name__)


class Subscriptions:
    """Event sources the application subscribed to with ``applications.subscribe``, per app.

    ``observe`` wraps the client's transport so every successful subscribe or unsubscribe
    call is noted, whichever way it was made (collection, instance, callback, async).
    """

    def __init__(self, subscribe: Optional[Callable[[str, List[str]], Any]] = None) -> None:
        #: ``subscribe(app, sources)``: the client's own ``applications.subscribe``
        self.subscribe = subscribe
        self._sources: Dict[str, Dict[str, None]] = {}
        self._lock = threading.Lock()

    def observe(self, transport: Transport) -> None:
        inner = transport.request

        def request(method: str, path: str, **options: Any) -> Any:
            response = inner(method, path, **options)
            operation = options.get("operation")
            if operation in ("applications.subscribe", "applications.unsubscribe"):
                self._note(operation == "applications.subscribe", path, options.get("params") or {})
            return response

        request.__wrapped__ = inner  # type: ignore[attr-defined]
        setattr(transport, "request", request)  # noqa: B010 - an instance attribute on purpose

    def _note(self, subscribed: bool, path: str, params: Dict[str, Any]) -> None:
        parts = path.split("/")
        if len(parts) < 3:
            return
        app = unquote(parts[2])
        raw = params.get("eventSource", "")
        sources = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
        with self._lock:
            known = self._sources.setdefault(app, {})
            for source in sources:
                if subscribed:
                    known[source] = None
                else:
                    known.pop(source, None)
            if not known:
                del self._sources[app]

    def snapshot(self) -> Dict[str, List[str]]:
        with self._lock:
            return {app: list(sources) for app, sources in self._sources.items()}

    def restore(self, apps: Sequence[str]) -> None:
        """Subscribe again after a reconnect (Asterisk forgets them with the socket)."""
        subscribe = self.subscribe
        if subscribe is None:
            return
        for app, sources in self.snapshot().items():
            if app not in apps or not sources:
                continue
            try:
                subscribe(app, sources)
            except ARIError as exc:
                log.warning("could not restore the subscriptions of %s: %s", app, exc)
