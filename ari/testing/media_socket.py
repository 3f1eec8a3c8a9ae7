"""The simulator's media WebSockets: chan_websocket's wire, both ways.

Its one job is the wire of a media WebSocket: served on the simulator's port at
``/media/<connection id>`` (no authentication, 404 for an unknown connection id, 409 for a
second connection, the optional ``media`` subprotocol), or dialled out to a
websocket_client's URI (``dial``: subprotocol ``media``; a refused connection destroys the
channel with cause 3); then text and binary messages handed to the ``MediaStream`` and its
frames and texts written back in order (one writer task per socket).  The audio model is
``media_stream.py``'s; it must hold none.  It runs on the server's loop, like ``server.py``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional, Union

from aiohttp import ClientError, ClientSession, WSMsgType, web

from .media_stream import MediaStream

log = logging.getLogger(__name__)

_CLOSE = object()
#: seconds a closing handshake the simulator started may take before the socket is dropped
CLOSE_TIMEOUT = 2.0


class SocketWire:
    """A ``media_stream.Wire`` over an aiohttp WebSocket: sends queued, in order, never awaited by the model."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.outbox: asyncio.Queue[Any] = asyncio.Queue()
        self.closed = False
        self.close_code = 1000
        self.task = asyncio.get_running_loop().create_task(self._write())

    def send_audio(self, frame: bytes) -> None:
        if not self.closed:
            self.outbox.put_nowait(frame)

    def send_text(self, text: str) -> None:
        if not self.closed:
            self.outbox.put_nowait(text)

    def send_dtmf(self, digit: str) -> None:
        """Digits travel as DTMF_END texts, which the stream writes itself."""

    def close(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            self.close_code = code
            self.outbox.put_nowait(_CLOSE)

    async def _write(self) -> None:
        try:
            while True:
                item = await self.outbox.get()
                if item is _CLOSE:
                    await self.ws.close(code=self.close_code)
                    return
                if isinstance(item, str):
                    await self.ws.send_str(item)
                else:
                    await self.ws.send_bytes(item)
        except (ConnectionError, RuntimeError) as error:  # the application went away first
            log.debug("media socket write: %s", error)


def _engine(backend: Any) -> Any:
    world = getattr(backend, "world", None)
    return getattr(world, "media", None)


async def serve(request: web.Request, backend: Any, connection_id: str) -> web.StreamResponse:
    """Answer ``GET /media/<connection_id>`` as Asterisk's chan_websocket does."""
    engine = _engine(backend)
    found: Union[MediaStream, int] = engine.connect(connection_id) if engine is not None else 404
    if isinstance(found, int):
        return web.Response(status=found, text="Not Found" if found == 404 else "Conflict")
    stream = found
    ws = web.WebSocketResponse(autoping=True, compress=False, protocols=("media",), max_msg_size=1 << 20)
    if not ws.can_prepare(request).ok:
        return web.Response(status=400, text="WebSocket upgrade required")
    await ws.prepare(request)
    wire = SocketWire(ws)
    stream.attach(wire)
    engine.connected(stream)
    code: Optional[int] = None
    try:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                stream.audio(message.data)
            elif message.type == WSMsgType.TEXT:
                stream.text(message.data)
        code = ws.close_code
    finally:
        wire.closed = True
        stream.detached(code)
        if not wire.task.done():
            wire.task.cancel()
    return ws


async def _pump(stream: MediaStream, ws: Any, wire: SocketWire) -> Optional[int]:
    """Hand the application's messages to ``stream`` until the socket closes; its close code."""
    try:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                stream.audio(message.data)
            elif message.type == WSMsgType.TEXT:
                stream.text(message.data)
        return ws.close_code
    finally:
        closing = wire.closed  # the stream ended on our side: the writer is sending the close frame
        wire.closed = True
        await _finish_writer(wire, closing)


async def _finish_writer(wire: SocketWire, closing: bool) -> None:
    """Let a writer that is closing the socket send its close frame (as Asterisk does: 1000 on a
    DELETE), within a bound; a writer of a socket the far end ended has nothing left to do."""
    if wire.task.done():
        return
    if closing:
        try:
            await asyncio.wait_for(asyncio.shield(wire.task), CLOSE_TIMEOUT)
            return
        except asyncio.TimeoutError:
            pass
        except asyncio.CancelledError:  # the server is stopping: the writer goes with it
            wire.task.cancel()
            raise
    wire.task.cancel()


def dial(engine: Any, stream: MediaStream, uri: str) -> None:
    """Asterisk connecting out to the application's media server (on the server's loop)."""
    task = asyncio.get_running_loop().create_task(_dial(engine, stream, uri))
    engine.dials.add(task)  # held until done: a task nobody references may vanish
    task.add_done_callback(engine.dials.discard)


async def _dial(engine: Any, stream: MediaStream, uri: str) -> None:
    world = engine.world
    async with ClientSession() as session:
        try:
            ws = await session.ws_connect(uri, protocols=("media",), autoping=True, max_msg_size=1 << 20)
        except (ClientError, OSError, asyncio.TimeoutError) as error:
            log.info("media connection to %s failed: %s", uri, error)
            stream.end(close=False)
            ch = world.channels.get(stream.channel.id)
            if ch is not None and not ch.hanging_up:
                world.calls.hangup(ch, 3, soft=False, request=False)  # "No route to destination"
            return
        wire = SocketWire(ws)
        if stream.ended:
            await ws.close()
            return
        stream.attach(wire)
        engine.connected(stream)
        code = await _pump(stream, ws, wire)
        stream.detached(code)
