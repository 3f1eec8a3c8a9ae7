"""The HTTP layer, and the only module that imports requests.

``HTTPTransport`` implements the transport contract (transports.py) over one requests
adapter per client: base URL, Basic auth, a timeout on every request, TLS verification, a
connection pool sized for concurrent callers, retries for connection establishment only (a
request that may have reached Asterisk is never sent twice), and the translation of every
requests failure into the ``ari`` exceptions.  A ``requests.Response`` never leaves it: its
answers are ``Reply`` values.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import socket
import threading
import time
from typing import Any, Dict, Mapping, Optional, Tuple, Type, Union
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from .errors import ClosedError, ConnectionError, SpecError, Timeout, shorten
from .transports import PreparedRequest, Reply

log = logging.getLogger(__name__)

Verify = Union[bool, str]


def base_url(url: str) -> Tuple[str, Optional[str], Optional[str]]:
    """Normalise a server URL to its ARI root, returning (root, user, password) from any user info.

    ``http://host:8088`` and ``http://host:8088/ari`` both give ``http://host:8088/ari``;
    an http.conf prefix is kept (``http://host:8088/asterisk`` -> ``.../asterisk/ari``).
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"ARI URL must be http or https, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("ARI URL has no host")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    path = parts.path.rstrip("/")
    if not path.endswith("/ari"):
        path += "/ari"
    root = urlunsplit((parts.scheme, netloc, path, "", ""))
    return root, parts.username, parts.password


class _Deadlines:
    """The overall deadline of the HTTP call each thread is making, read by its connection.

    urllib3's timeouts bound each socket operation, so a server sending one byte a second
    would hold a call for as long as it drips.  The transport notes each call's deadline
    here; the connection carrying it (``_watched``) reads through a socket whose every read
    waits at most until that deadline, so the whole answer is bounded, with no extra thread.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def arm(self, timeout: float) -> None:
        self._local.deadline = time.monotonic() + timeout

    def disarm(self) -> None:
        self._local.deadline = None

    def current(self) -> Optional[float]:
        return getattr(self._local, "deadline", None)


class _BoundedSocket:
    """A connected socket whose reads end at the deadline of the call using it (``deadline``)."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.deadline: Optional[float] = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def makefile(self, mode: str = "r", buffering: Any = None, **kwargs: Any) -> Any:
        # http.client reads the answer through this file: make it read through recv_into below.
        if "b" not in mode or "w" in mode:
            return self._sock.makefile(mode, buffering, **kwargs)
        # As socket.makefile does: the file holds a reference on the socket, so a close() of the
        # connection (http.client closes it at once for "Connection: close") waits for the file;
        # the file's close() releases it (SocketIO calls _decref_socketios, reaching the socket).
        self._sock._io_refs += 1
        return io.BufferedReader(socket.SocketIO(self, "rb"))  # type: ignore[arg-type]

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        deadline = self.deadline
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("the call's deadline passed")
            timeout = self._sock.gettimeout()
            if timeout is None or left < timeout:
                self._sock.settimeout(left)
        return self._sock.recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        buffer = bytearray(bufsize)
        return bytes(buffer[: self.recv_into(buffer, bufsize, flags)])


def _watched(deadlines: _Deadlines) -> Dict[str, Type[HTTPConnectionPool]]:
    """Pool classes whose connections read within the deadline of the call they carry."""

    def connection_class(base: Type[Any]) -> Type[Any]:
        def connect(self: Any) -> None:
            deadline = deadlines.current()
            if deadline is not None:
                # Connection attempts (and their retries) fit in what is left of the call's time.
                left = deadline - time.monotonic()
                if left <= 0:
                    raise urllib3.exceptions.ConnectTimeoutError(self, "the call's deadline passed")
                if self.timeout is None or not isinstance(self.timeout, (int, float)) or left < self.timeout:
                    self.timeout = left
            base.connect(self)
            self.sock = _BoundedSocket(self.sock)

        def request(self: Any, *args: Any, **kwargs: Any) -> Any:
            sock = self.sock
            if sock is not None:
                sock.deadline = deadlines.current()
            result = base.request(self, *args, **kwargs)
            if sock is None and self.sock is not None:  # connected by this request
                self.sock.deadline = deadlines.current()
            return result

        return type(f"Watched{base.__name__}", (base,), {"connect": connect, "request": request})

    return {
        "http": type(
            "WatchedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": connection_class(HTTPConnection)}
        ),
        "https": type(
            "WatchedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": connection_class(HTTPSConnection)}
        ),
    }


class _Answer:
    """What the adapter returns for a call: the urllib3 response and what is read of it.

    The fields are those of ``requests.Response`` that the code around an adapter reads
    (``HTTPTransport.send``; the ``responses`` library in tests); ``headers`` is urllib3's own
    case-insensitive dict.
    """

    __slots__ = ("raw", "status_code", "reason", "headers", "url", "request")

    def __init__(self, raw: Any, request: requests.PreparedRequest) -> None:
        self.raw = raw
        self.status_code: int = raw.status
        self.reason: Optional[str] = raw.reason
        self.headers: Any = raw.headers
        self.url = request.url or ""
        self.request = request


class _AriAdapter(HTTPAdapter):
    """requests' adapter for one ARI server, through the hooks requests exposes for subclassing.

    A client talks to one host with the same TLS settings on every call, and ARI sets no
    cookies: the connection pool is looked up once instead of per call, and responses are
    built without cookie extraction (about a fifth of a loopback call's time).  With a
    proxy in play, requests' own per-call handling is kept.
    """

    def __init__(self, deadlines: _Deadlines, **options: Any) -> None:
        self._pool_classes = _watched(deadlines)
        super().__init__(**options)
        self._pools: Dict[Tuple[str, str, Any], Any] = {}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._pool_classes
        return manager

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        origin = (request.url or "").split("/", 3)[:3]
        key = ("/".join(origin), str(verify), cert)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = super().get_connection_with_tls_context(request, verify, cert=cert)
        return pool

    def request_url(self, request: requests.PreparedRequest, proxies: Any) -> str:
        if proxies:
            return super().request_url(request, proxies)
        # Our URLs are "scheme://host[:port]/path[?query]": the target is all after the host
        # (requests' path_url parses the URL again on every call for the same answer).
        parts = (request.url or "").split("/", 3)
        return "/" + parts[3] if len(parts) > 3 else "/"

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> _Answer:  # type: ignore[override]
        # The hook requests offers subclasses: an _Answer, not a requests.Response (its cookie
        # jar, hooks and a case-insensitive copy of the headers cost a twentieth of a call).
        return _Answer(resp, req)

    def close(self) -> None:
        self._pools.clear()
        super().close()


class HTTPTransport:
    """The HTTP transport: sends a ``PreparedRequest`` under the ARI root, returns a ``Reply``.

    It implements the contract of transports.py; the ``requests.Response`` never leaves
    this module, and its body is always read in full, so its connection goes back to the
    pool (a void answer's unread body used to cost a new connection per call).
    """

    def __init__(
        self,
        url: str,
        username: Optional[str],
        password: Optional[str],
        *,
        timeout: float = 10.0,
        verify: Verify = True,
        pool_size: int = 16,
        connect_retries: int = 2,
    ) -> None:
        self.root, url_user, url_password = base_url(url)
        self.username = username if username is not None else url_user
        self._password = password if password is not None else url_password
        self.timeout = timeout
        self.verify = verify
        retry = Retry(
            total=connect_retries,
            connect=connect_retries,
            # Only what never reached the server is sent again: a request whose answer did not
            # come (in time, or at all) may have been acted on, whatever its method.
            read=False,
            status=0,
            other=0,
            redirect=0,
            backoff_factor=0.05,
            raise_on_status=False,
        )
        self._deadlines = _Deadlines()
        self._adapter = _AriAdapter(self._deadlines, pool_connections=4, pool_maxsize=pool_size, max_retries=retry)
        self._closed = False
        self._headers: Dict[str, str] = {**requests.utils.default_headers(), "Authorization": self.authorization}
        # What a requests.Session reads from the environment on every request (proxies,
        # CA bundle), read once: it was a fifth of the time of a loopback request.
        if verify is True:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self._send_options: Dict[str, Any] = {
            # One urllib3 Timeout for every call (the adapter would build one per call).
            "timeout": urllib3.Timeout(connect=timeout, read=timeout),
            "verify": verify,
            "proxies": requests.utils.get_environ_proxies(self.root),
            "stream": False,
            "cert": None,
        }

    def __repr__(self) -> str:
        return f"<HTTPTransport {self.root} user={self.username!r}>"

    def __enter__(self) -> HTTPTransport:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def authorization(self) -> str:
        """The Basic Authorization header value, for the event socket."""
        token = f"{self.username or ''}:{self._password or ''}".encode()
        return "Basic " + base64.b64encode(token).decode("ascii")

    @property
    def websocket_root(self) -> str:
        return "ws" + self.root[4:] if self.root.startswith("http") else self.root

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._adapter.close()

    def send(self, request: PreparedRequest) -> Reply:
        """Send one request and read its whole answer; a failure to get it is an ``ari`` error.

        ``request.path`` is percent-encoded already (see operations.py).
        """
        method = request.method
        url = self.root + request.path
        if self._closed:
            raise ClosedError(f"{method} {shorten(url)}: the client is closed")
        self._deadlines.arm(self.timeout)
        try:
            response = self._send(method, url, request.query, request.body)
            # Read in full, always (a void answer too): the connection goes back to the pool.
            content = response.raw.read(decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._failure(exc, method, url) from exc
        finally:
            self._deadlines.disarm()
        reply = Reply(response.status_code, response.reason or "", content, response.headers.get("Content-Type"), url)
        if reply.status >= 300:
            log.debug("%s %s -> %s %s", method, url, reply.status, reply.reason)
        return reply

    def _failure(self, exc: BaseException, method: str, url: str) -> ConnectionError:
        shown = shorten(url)
        if _timed_out(exc):
            return Timeout(f"{method} {shown}: no answer within {self.timeout} s", url)
        if isinstance(exc, requests.ConnectionError) and not _answered(exc):
            return ConnectionError(f"cannot connect to {shown}: {_reason(exc)}", url)
        return ConnectionError(f"{method} {shown} failed: {_reason(exc)}", url)

    def _send(self, method: str, url: str, params: Optional[Mapping[str, str]], body: Optional[str]) -> _Answer:
        # Straight to the adapter: ARI needs no cookies, redirects or hooks, and building the
        # URL here keeps our path encoding (requests would turn %2E%2E back into "..").
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.url = f"{url}?{urlencode(params)}" if params else url
        # A plain dict with one spelling per name (urllib3 copies and merges it per call; a
        # CaseInsensitiveDict took three copies through the abc's slow update).
        headers = self._headers.copy()
        if body is not None:
            data = body.encode("utf-8")
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(data))
            prepared.body = data
        else:
            prepared.body = None
            if method not in ("GET", "HEAD"):
                headers["Content-Length"] = "0"
        prepared.headers = headers  # type: ignore[assignment]
        return self._adapter.send(prepared, **self._send_options)  # type: ignore[return-value]

    def get_json(self, path: str) -> Any:
        """GET a JSON document (the API description); invalid JSON is a SpecError naming it."""
        request = PreparedRequest("GET", path)
        reply = self.send(request).raise_for_status(request)
        try:
            return json.loads(reply.content)
        except ValueError as exc:
            raise SpecError(self.root + path, f"not valid JSON: {exc}") from exc


def _causes(exc: BaseException) -> Any:
    """The exception, what it wraps (requests puts urllib3's in ``args``), and their causes."""
    seen = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                pending.append(linked)


def _timed_out(exc: BaseException) -> bool:
    timeouts = (requests.Timeout, urllib3.exceptions.TimeoutError, socket.timeout)
    # urllib3's NewConnectionError (refused, unreachable) derives from ConnectTimeoutError.
    refused = urllib3.exceptions.NewConnectionError
    return any(isinstance(e, timeouts) and not isinstance(e, refused) for e in _causes(exc))


def _answered(exc: BaseException) -> bool:
    """Whether the failure came after the server started answering (a broken body)."""
    broken = (urllib3.exceptions.ProtocolError, requests.exceptions.ChunkedEncodingError)
    return any(isinstance(e, broken) for e in _causes(exc))


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests failure, without URLs that could carry secrets."""
    cause: Any = exc
    while cause.args and isinstance(cause.args[0], Exception):
        cause = cause.args[0]
    reason = getattr(cause, "reason", None)
    text = str(reason if reason is not None else cause)
    return text.split(": ", 1)[-1] if "Max retries" in text else text
