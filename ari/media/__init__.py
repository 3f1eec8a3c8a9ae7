"""A call's audio from Python: externalMedia over a WebSocket or RTP, opened in one call.

::

    media = ari.media.open_websocket(client, "myapp", format="slin16")
    for frame in media:              # Frame(data, index, time, received), 20 ms each
        media.send(process(frame.data))
    media.close()                    # hangs the call up

Its one job is opening: create the externalMedia channel through the client with the right
options, then connect to Asterisk's ``/media/<connection id>`` (``open_websocket``), or open
a UDP socket and send to the channel's ``UNICASTRTP_LOCAL_ADDRESS``/``_PORT``
(``open_rtp``); a ``MediaServer`` accepts the WebSockets Asterisk opens itself
(``open_outbound``).  Reading,
writing, marks and events are ``session.MediaSession``'s; codecs are ``codecs``'.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Mapping, Optional
from urllib.parse import quote, urlsplit

from ..errors import ARIError, MediaError
from . import codecs
from .codecs import CODECS, Codec, Converter, codec, convert
from .loop import MediaLoop
from .rtp import RtpPacket
from .session import Frame, Mark, MediaEvent, MediaSession
from .udp import RtpMedia, bind
from .websocket import MediaServer, WebSocketMedia, connect, parse_control

__all__ = [
    "CODECS",
    "Codec",
    "Converter",
    "Frame",
    "Mark",
    "MediaError",
    "MediaEvent",
    "MediaLoop",
    "MediaServer",
    "MediaSession",
    "RtpMedia",
    "RtpPacket",
    "WebSocketMedia",
    "codec",
    "codecs",
    "connect",
    "convert",
    "media_url",
    "open_outbound",
    "open_rtp",
    "open_websocket",
    "parse_control",
]

log = logging.getLogger(__name__)


def media_url(client: Any, connection_id: str) -> str:
    """``ws://host:port/media/<connection id>`` on the client's Asterisk (``wss`` under https)."""
    parts = urlsplit(client.meta.transport.root)
    scheme = "wss" if parts.scheme == "https" else "ws"
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{scheme}://{host}{port}/media/{quote(connection_id, safe='')}"


def _variables(channel: Any) -> Dict[str, Any]:
    try:
        values = channel.channelvars
    except AttributeError:
        return {}
    return dict(values or {})


def _hangup(channel: Any) -> None:
    try:
        channel.hangup()
    except ARIError as error:  # already gone: nothing to hang up
        log.debug("hanging up %s: %s", getattr(channel, "id", channel), error)


def open_websocket(
    client: Any,
    app: str,
    format: str = "slin16",
    *,
    channel_id: Optional[str] = None,  # noqa: A002
    control_format: str = "plain-text",
    direction: str = "both",
    auto_answer: bool = True,
    variables: Optional[Mapping[str, str]] = None,
    data: Optional[str] = None,
    timeout: float = 10.0,
    loop: Optional[MediaLoop] = None,
) -> WebSocketMedia:
    """Create an externalMedia channel in ``app`` carried over a WebSocket and connect to it.

    Asterisk 20.16+/22.6+ (chan_websocket).  ``format`` is the codec of every frame both ways
    (``slin16``, ``ulaw``...); ``control_format`` ``plain-text`` or ``json`` (JSON is needed for
    ``set_direction``); ``direction`` ``in``/``out`` carries audio one way only; with
    ``auto_answer=False`` the channel stays Down until ``answer()``.  Returns once MEDIA_START
    arrived.  A failure to connect hangs the new channel up and raises ``MediaError``.
    ``loop``: a ``MediaLoop`` shared by the calls' sessions (one thread for all of them);
    None gives the session a thread of its own.
    """
    codec(format)  # a clear error before anything is created
    if control_format not in ("plain-text", "json"):
        raise MediaError(f"control_format {control_format!r} is not plain-text or json")
    if direction not in ("both", "in", "out"):
        raise MediaError(f"direction {direction!r} is not one of both, in, out")
    options = [f"f({control_format})"] if control_format == "json" else []
    if direction != "both":
        options.append(f"d({direction})")
    if not auto_answer:
        options.append("n")
    params: Dict[str, Any] = {
        "app": app,
        "transport": "websocket",
        "encapsulation": "none",
        "connection_type": "server",
        "format": format,
    }
    if options:
        params["transport_data"] = "".join(options)
    if channel_id:
        params["channelId"] = channel_id
    if variables:
        params["variables"] = dict(variables)
    if data:
        params["data"] = data
    channel = client.channels.externalMedia(**params)
    connection_id = _variables(channel).get("MEDIA_WEBSOCKET_CONNECTION_ID")
    if not connection_id:
        _hangup(channel)
        raise MediaError(
            f"externalMedia answered without MEDIA_WEBSOCKET_CONNECTION_ID (channel {channel.id}): "
            "does this Asterisk have chan_websocket (20.16+, 22.6+)?"
        )
    try:
        session = connect(
            media_url(client, connection_id),
            timeout=timeout,
            verify=getattr(client.meta.transport, "verify", True),
            channel=channel,
            loop=loop,
        )
    except BaseException:
        _hangup(channel)
        raise
    return _adopted(client, session)


def open_outbound(
    client: Any,
    app: str,
    server: MediaServer,
    connection: str,
    format: str = "slin16",  # noqa: A002
    *,
    channel_id: Optional[str] = None,
    transport_data: Optional[str] = None,
    variables: Optional[Mapping[str, str]] = None,
    timeout: float = 10.0,
) -> WebSocketMedia:
    """Create an externalMedia channel that Asterisk connects out to ``server`` with, and take that connection.

    ``connection`` is the websocket_client.conf section whose ``uri`` reaches ``server``
    (Asterisk 20.16+, 22.6+); ``transport_data`` adds dial options (``f(json)``, ``d(in)``,
    ``v(k=v)``...).  A connection that does not come within ``timeout`` hangs the channel up.
    """
    codec(format)
    params: Dict[str, Any] = {
        "app": app,
        "transport": "websocket",
        "encapsulation": "none",
        "connection_type": "client",
        "external_host": connection,
        "format": format,
    }
    if transport_data:
        params["transport_data"] = transport_data
    if channel_id:
        params["channelId"] = channel_id
    if variables:
        params["variables"] = dict(variables)
    channel = client.channels.externalMedia(**params)
    try:
        session = server.accept(timeout, channel_id=channel.id)
    except BaseException:
        _hangup(channel)
        raise
    session.channel = channel
    return _adopted(client, session)


def open_rtp(
    client: Any,
    app: str,
    format: str = "ulaw",
    *,
    host: str = "127.0.0.1",
    port: int = 0,  # noqa: A002
    channel_id: Optional[str] = None,
    variables: Optional[Mapping[str, str]] = None,
    data: Optional[str] = None,
    ptime: int = 20,
    loop: Optional[MediaLoop] = None,
) -> RtpMedia:
    """Open a UDP socket on ``host:port`` and create an externalMedia channel in ``app`` sending RTP to it.

    ``format`` ``ulaw`` (payload type 0), ``alaw`` (8), ``slin16`` (118)...  Audio goes to the
    channel's ``UNICASTRTP_LOCAL_ADDRESS``/``_PORT``.  ``close()`` hangs the channel up; the
    channel's StasisEnd (when the client's events are running) closes the media.  ``loop``:
    a ``MediaLoop`` shared with other sessions (None: a thread of its own).
    """
    fmt: Codec = codec(format)
    sock = bind(host, port)
    local_host, local_port = sock.getsockname()[:2]
    external = f"[{local_host}]:{local_port}" if ":" in local_host else f"{local_host}:{local_port}"
    params: Dict[str, Any] = {"app": app, "external_host": external, "format": format}
    if channel_id:
        params["channelId"] = channel_id
    if variables:
        params["variables"] = dict(variables)
    if data:
        params["data"] = data
    try:
        channel = client.channels.externalMedia(**params)
    except BaseException:
        sock.close()
        raise
    values = _variables(channel)
    remote = None
    if values.get("UNICASTRTP_LOCAL_ADDRESS") and values.get("UNICASTRTP_LOCAL_PORT"):
        remote = (str(values["UNICASTRTP_LOCAL_ADDRESS"]), int(values["UNICASTRTP_LOCAL_PORT"]))
    session = RtpMedia(channel, fmt, sock, remote, ptime=ptime, hangup=lambda: _hangup(channel), loop=loop)
    _follow_hangup(session, channel)
    return _adopted(client, session)


def _adopted(client: Any, session: Any) -> Any:
    """The session, closed by ``client.close()`` with the rest of the client's threads."""
    try:
        client.meta.adopt(session)
    except BaseException:
        session.close()
        raise
    return session


def _follow_hangup(session: RtpMedia, channel: Any) -> None:
    """Close ``session`` when ``channel`` leaves the application, if the client hears events."""

    def left(*_: Any) -> None:
        session._remote_hangup()

    try:
        channel.once("StasisEnd", left)
    except (AttributeError, RuntimeError):  # a REST-only client: close() is the only end
        return
    session.on("CLOSED", lambda _event: _forget(channel, left))


def _forget(channel: Any, handler: Any) -> None:
    try:
        channel.remove_listener("StasisEnd", handler)
    except Exception:  # already removed by once()
        log.debug("listener already gone", exc_info=True)
