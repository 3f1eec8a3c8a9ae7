"""A TCP proxy that injects faults between the client and a loopback server (tests, bench/soak.py).

Its one job: forward bytes both ways between a client and ``ari.testing``'s server, and on
request cut a connection (RST), stall a direction (stop reading it: TCP backpressure does the
rest), half-close it, delay or drip what the server sends, inject garbage into it, or hold
back a new connection's first bytes and deliver them late (a handshake that reaches the
server after its client gave up).  Faults apply to the events WebSocket connections only
(told apart by their request line), so the client's HTTP calls pass untouched.

It must not understand HTTP or WebSocket beyond that request line: corrupting frames is
done by writing raw bytes.  Every thread is a daemon named ``fault-*`` and ends on ``stop()``.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any, List, Optional

from tests.support import wait_until

UP, DOWN = "up", "down"  # client -> server, server -> client


class Pipe:
    """One proxied connection: a client socket, a server socket and a pump thread each way."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, server: socket.socket, number: int) -> None:
        self.proxy = proxy
        self.number = number
        self.client = client
        self.server = server
        self.events = False  # an events WebSocket (its request line names /ari/events)
        self.request_line = b""
        self.closed = threading.Event()
        self.client_gone = threading.Event()  # the client closed or reset its side
        self._stalled = {UP: threading.Event(), DOWN: threading.Event()}
        self._running = {UP: threading.Event(), DOWN: threading.Event()}
        self._gate = {UP: threading.Lock(), DOWN: threading.Lock()}  # held while a chunk is forwarded
        for running in self._running.values():
            running.set()
        self._down_lock = threading.Lock()  # forwarded bytes and injected garbage keep their order
        self.hold: float = 0.0  # seconds to hold the first bytes up (events connections)
        self.drip: float = 0.0  # seconds per byte down
        self.delay: float = 0.0  # seconds per chunk down
        self.bytes_down = 0
        self._threads = [
            threading.Thread(target=self._pump, args=(UP,), name=f"fault-up-{number}", daemon=True),
            threading.Thread(target=self._pump, args=(DOWN,), name=f"fault-down-{number}", daemon=True),
        ]

    def __repr__(self) -> str:
        kind = "events" if self.events else "http"
        return f"<Pipe {self.number} {kind}{' closed' if self.closed.is_set() else ''}>"

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    # -- faults ------------------------------------------------------------------------
    def cut(self) -> None:
        """Reset both sides at once (RST, no close frame, no FIN)."""
        for sock in (self.client, self.server):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self._close()

    def stall(self, direction: str = "both") -> None:
        """Stop forwarding (and reading) ``up``, ``down`` or ``both`` directions until ``resume``."""
        for d in (UP, DOWN) if direction == "both" else (direction,):
            with self._gate[d]:  # a chunk being forwarded goes through; none after this returns
                self._stalled[d].set()
                self._running[d].clear()

    def resume(self) -> None:
        for d in (UP, DOWN):
            self._stalled[d].clear()
            self._running[d].set()

    def half_close(self, direction: str = DOWN) -> None:
        """End one direction with a FIN: ``down`` tells the client the server is done sending."""
        target = self.client if direction == DOWN else self.server
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def inject(self, data: bytes) -> None:
        """Write ``data`` to the client as if the server had sent it, between forwarded chunks."""
        with self._down_lock:
            try:
                self._send_all(self.client, data)
            except OSError:
                self._close()

    # -- pumping -----------------------------------------------------------------------
    def _pump(self, direction: str) -> None:
        src, dst = (self.client, self.server) if direction == UP else (self.server, self.client)
        first = True
        try:
            while not self.closed.is_set():
                if self._stalled[direction].is_set():
                    self._running[direction].wait(0.05)
                    continue
                try:
                    data = src.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    data = b""
                if direction == UP and first and data:
                    first = False
                    self._classify(data)
                    if self.hold:
                        self.closed.wait(self.hold)  # delivered late, even if the client left meanwhile
                if not data:
                    if direction == UP:
                        self.client_gone.set()
                        if self.hold:
                            self.closed.wait(0.5)  # let the late handshake land before its end does
                    self._end(dst)
                    return
                while not self.closed.is_set():
                    with self._gate[direction]:
                        if not self._stalled[direction].is_set():
                            if direction == DOWN:
                                self._forward_down(data)
                            else:
                                self._send_all(dst, data)
                            break
                    self._running[direction].wait(0.05)
        except OSError:
            if direction == DOWN:
                self.client_gone.set()
            self._close()

    def _classify(self, data: bytes) -> None:
        self.request_line = data.split(b"\r\n", 1)[0]
        if b"/ari/events" in self.request_line:
            self.events = True
            self.proxy._apply_new_events(self)

    def _forward_down(self, data: bytes) -> None:
        if self.delay:
            self.closed.wait(self.delay)
        if self.drip:
            for i in range(len(data)):
                if self.closed.wait(self.drip):
                    return
                with self._down_lock:
                    self._send_all(self.client, data[i : i + 1])
                self.bytes_down += 1
            return
        with self._down_lock:
            self._send_all(self.client, data)
        self.bytes_down += len(data)

    def _send_all(self, sock: socket.socket, data: bytes) -> None:
        """``sendall`` that waits as long as the peer takes to read (a slow reader is no fault)."""
        view = memoryview(data)
        while view:
            if self.closed.is_set():
                raise OSError("the pipe was closed")
            try:
                view = view[sock.send(view) :]
            except socket.timeout:
                continue

    def _end(self, dst: socket.socket) -> None:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            self._close()
            return
        if all(not t.is_alive() or t is threading.current_thread() for t in self._threads):
            self._close()

    def _close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.server):
            try:
                sock.close()
            except OSError:
                pass

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)


class FaultProxy:
    """Listens on a loopback port and forwards every connection to ``target_port``."""

    def __init__(self, target_port: int, host: str = "127.0.0.1", rcvbuf: Optional[int] = None) -> None:
        self.target = (host, target_port)
        self.host = host
        self.rcvbuf = rcvbuf  # a small receive window makes a stalled upload block its sender sooner
        self.pipes: List[Pipe] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf is not None:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self._listener.bind((host, 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._next: List[dict] = []  # faults for the next new events connections, in order
        self._always: dict = {}  # faults for every new events connection
        self.events_seen = 0  # events connections made through the proxy so far
        self._accepter = threading.Thread(target=self._accept, name="fault-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        self._accepter.start()
        return self

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()
        self._accepter.join(2)
        self._listener.close()
        with self._lock:
            pipes = list(self.pipes)
        for pipe in pipes:
            pipe._close()
        for pipe in pipes:
            pipe.join(1)

    # -- what tests use ----------------------------------------------------------------
    def next_events(self, **faults: float) -> None:
        """Faults (``hold``, ``drip``, ``delay`` seconds) for the next new events connection."""
        with self._lock:
            self._next.append(faults)

    def every_events(self, **faults: float) -> None:
        """Faults for every new events connection from now on (``every_events()`` clears them)."""
        with self._lock:
            self._always = dict(faults)

    def events_pipes(self, live: bool = True) -> List[Pipe]:
        with self._lock:
            return [p for p in self.pipes if p.events and not (live and p.closed.is_set())]

    def live_events(self, timeout: float = 5.0) -> Pipe:
        """The open events connection (waiting for it, bounded); the newest if several."""
        assert wait_until(lambda: self.events_pipes(), timeout), "no events connection through the proxy"
        return self.events_pipes()[-1]

    def cut_events(self) -> int:
        pipes = self.events_pipes()
        for pipe in pipes:
            pipe.cut()
        return len(pipes)

    # -- internals ---------------------------------------------------------------------
    def _apply_new_events(self, pipe: Pipe) -> None:
        with self._lock:
            faults = self._next.pop(0) if self._next else self._always
            self.events_seen += 1
        pipe.hold = float(faults.get("hold", 0.0))
        pipe.drip = float(faults.get("drip", 0.0))
        pipe.delay = float(faults.get("delay", 0.0))

    def _accept(self) -> None:
        number = 0
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.settimeout(0.1)  # pumps look at their flags between reads
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            number += 1
            pipe = Pipe(self, client, server, number)
            with self._lock:
                self.pipes = [p for p in self.pipes if not p.closed.is_set()] + [pipe]
            pipe.start()


__all__ = ["DOWN", "UP", "FaultProxy", "Pipe", "wait_until"]
