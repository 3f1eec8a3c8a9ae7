"""TLS: https and wss against a loopback server with a self-signed certificate.

Verification is on unless the caller turns it off; a CA bundle path is accepted.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import ari
from ari.testing import MockServer
from ari.testing.description import load, render_swagger


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return folder


@pytest.fixture
def tls_mock(certificate: Path) -> Iterator[Any]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    with MockServer(ssl_context=context) as server:
        yield server


def test_unknown_certificate_is_refused_by_default(tls_mock: Any) -> None:
    assert tls_mock.url.startswith("https://")
    with pytest.raises(ari.ConnectionError, match="(?i)certificate"):
        ari.connect(tls_mock.url, tls_mock.username, tls_mock.password)


def test_a_ca_bundle_path_verifies_https_and_wss(tls_mock: Any, certificate: Path) -> None:
    ca = str(certificate / "cert.pem")
    tls_mock.stub("channels", "get", body={"id": "c1", "state": "Up"})
    seen: List[Any] = []
    arrived = threading.Event()
    with ari.connect(tls_mock.url, tls_mock.username, tls_mock.password, verify=ca) as client:
        assert client.channels.get(channelId="c1").state == "Up"
        client.on("StasisStart", lambda event, channel: (seen.append(channel.id), arrived.set()))
        client.start("secure")
        assert tls_mock.wait_for_app("secure", 5)
        tls_mock.send_event(
            {
                "type": "StasisStart",
                "application": "secure",
                "args": [],
                "channel": dict(tls_mock.minimal("Channel"), id="c9"),
            }
        )
        assert arrived.wait(5)
    assert seen == ["c9"]


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verification_can_be_turned_off(tls_mock: Any) -> None:
    with ari.connect(tls_mock.url, tls_mock.username, tls_mock.password, verify=False) as client:
        assert client.channels.list() == []
        client.start("insecure")
        assert tls_mock.wait_for_app("insecure", 5)


def test_the_event_socket_refuses_an_unknown_certificate(tls_mock: Any, tmp_path: Path) -> None:
    # A saved description: connecting makes no request, so start() is the first TLS handshake.
    (tmp_path / "api-docs").mkdir()
    for name, document in render_swagger(load(), tls_mock.url + "/ari").items():
        target = tmp_path / name if name == "resources.json" else tmp_path / "api-docs" / name
        target.write_text(json.dumps(document))
    with ari.connect(tls_mock.url, tls_mock.username, tls_mock.password, spec=str(tmp_path)) as client:
        with pytest.raises(ari.ConnectionError, match="(?i)certificate"):
            client.start("secure")
    assert not tls_mock.connected_apps()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_from_the_environment_verifies_wss_as_it_does_https(
    tls_mock: Any, certificate: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv(variable, str(certificate / "cert.pem"))
    with ari.connect(tls_mock.url, tls_mock.username, tls_mock.password) as client:  # https: the description
        client.start("secure")  # wss
        assert tls_mock.wait_for_app("secure", 5)
