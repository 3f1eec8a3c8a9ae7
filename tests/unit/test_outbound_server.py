"""The outbound server's pure parts: per-call app names, first frames, option checks."""

from __future__ import annotations

import socket

import pytest

import ari
from ari.outbound import _first_frame, is_per_call


def test_per_call_apps_are_named_after_their_channel() -> None:
    assert is_per_call("ob:PJSIP/1000-00000001")
    assert is_per_call("ob-percall:Local/wait@default-00000062;1")
    assert not is_per_call("ob-persist")
    assert not is_per_call("a:b")  # a colon alone is not a channel name
    assert not is_per_call(":PJSIP/1000-1")


def test_a_first_frame_must_name_its_asterisk_and_application() -> None:
    frame = b'{"type":"Dial","application":"app","asterisk_id":"02:fc:00:00:00:01"}'
    assert _first_frame(frame) == ("02:fc:00:00:00:01", "app")
    for bad in (b"hello", b"[1]", b'{"type":"X","application":"app"}', b'{"asterisk_id":"x","application":""}'):
        with pytest.raises(ValueError):
            _first_frame(bad)


def test_options_are_checked_before_anything_listens() -> None:
    with pytest.raises(ValueError, match="url"):
        ari.Server(transport="http")
    with pytest.raises(ValueError, match="transport"):
        ari.Server(transport="auto")
    with pytest.raises(ValueError, match="both"):
        ari.Server(username="app")
    with pytest.raises(TypeError, match="ping_interval"):
        ari.Server(ping_interval=3)
    with pytest.raises(ValueError, match="dispatch"):
        ari.Server(dispatch="parallel")


def test_a_port_in_use_is_an_ari_connection_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ari.ConnectionError, match=str(port)):
            ari.serve("127.0.0.1", port)


def test_repr_names_the_url_and_never_a_password() -> None:
    server = ari.Server("127.0.0.1", 9, username="app", password="s3cret-pw")
    assert "ws://127.0.0.1:9" in repr(server) and "s3cret-pw" not in repr(server)
