"""Event sources subscribed with ``applications.subscribe``, so a reconnect can restore them.

Its one job is bookkeeping: note every successful subscribe and unsubscribe call, however
it was made, and replay them.  It must not touch the WebSocket (stream.py does).
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from .errors import ARIError
from .resources import Meta

log = logging.getLogger(__name__)


class Subscriptions:
    """Event sources the application subscribed to with ``applications.subscribe``, per app.

    ``observe`` hooks the client's calls so every successful subscribe or unsubscribe is
    noted, whichever way it was made (collection, instance, callback, async).
    """

    def __init__(self, subscribe: Optional[Callable[[str, List[str]], Any]] = None) -> None:
        #: ``subscribe(app, sources)``: the client's own ``applications.subscribe``
        self.subscribe = subscribe
        self._sources: Dict[str, Dict[str, None]] = {}
        self._lock = threading.Lock()

    def observe(self, meta: Meta) -> None:
        """Note every successful subscribe and unsubscribe made through the client."""
        meta.observers.add("applications.subscribe", functools.partial(self._note, True))
        meta.observers.add("applications.unsubscribe", functools.partial(self._note, False))

    def _note(self, subscribed: bool, values: Mapping[str, Any]) -> None:
        app = values.get("applicationName")
        raw = values.get("eventSource") or ""
        sources = [str(s) for s in raw] if isinstance(raw, (list, tuple)) else str(raw).split(",")
        with self._lock:
            known = self._sources.setdefault(str(app), {})
            for source in sources:
                if subscribed:
                    known[source] = None
                else:
                    known.pop(source, None)
            if not known:
                del self._sources[str(app)]

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
