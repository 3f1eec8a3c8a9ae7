"""The client against a real loopback ARI server in the test process (``ari_mock``)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, List

import pytest

import ari


def test_connect_and_call_over_real_http(ari_mock: Any) -> None:
    ari_mock.stub("channels", "get", body={"id": "c1", "name": "PJSIP/1000-00000001", "state": "Up"})
    with ari.connect(ari_mock.url, ari_mock.username, ari_mock.password) as client:
        channel = client.channels.get(channelId="c1")
        assert channel.name == "PJSIP/1000-00000001"
        channel.answer()
        client.channels.setChannelVars(channelId="c1", variables={"A": "1"})
    answered = ari_mock.requests_for("channels", "answer")
    assert [r.path_params for r in answered] == [{"channelId": "c1"}]
    assert ari_mock.requests_for("channels", "setChannelVars")[0].body == {"variables": {"A": "1"}}
    assert all("authorization" not in {k.lower() for k in r.headers} for r in ari_mock.requests)


def test_ids_that_look_like_paths_stay_one_segment(ari_mock: Any) -> None:
    ari_mock.stub("bridges", "get", body=lambda request: {"id": request.path_params["bridgeId"]})
    odd = ["a/b", "../asterisk", "x?y=1", "h#f", "100%", "..", "."]
    with ari.connect(ari_mock.url, ari_mock.username, ari_mock.password) as client:
        assert [client.bridges.get(bridgeId=value).id for value in odd] == odd
    assert {r.nickname for r in ari_mock.requests} == {"get"}


def test_server_errors_carry_asterisks_message(ari_mock: Any) -> None:
    ari_mock.stub("channels", "hangup", status=404, body={"message": "Channel not found"})
    with ari.connect(ari_mock.url, ari_mock.username, ari_mock.password) as client:
        with pytest.raises(ari.NotFound) as caught:
            client.Channel("gone").hangup()
    assert caught.value.message == "Channel not found"
    assert caught.value.url == f"{ari_mock.url}/ari/channels/gone"


def test_wrong_password_over_http(ari_mock: Any) -> None:
    with pytest.raises(ari.AuthenticationError) as caught:
        ari.connect(ari_mock.url, ari_mock.username, "wrong-password")
    assert caught.value.message == "Authentication required"
    assert "wrong-password" not in str(caught.value)


def test_calls_from_many_threads_share_one_client(ari_mock: Any) -> None:
    ari_mock.stub("channels", "get", body=lambda request: {"id": request.path_params["channelId"]})
    errors: List[BaseException] = []
    with ari.connect(ari_mock.url, ari_mock.username, ari_mock.password) as client:

        def work(n: int) -> None:
            try:
                for i in range(25):
                    assert client.channels.get(channelId=f"{n}-{i}").id == f"{n}-{i}"
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert len(ari_mock.requests_for("channels", "get")) == 200


def test_spec_save_command_and_offline_connect(ari_mock: Any, tmp_path: Path) -> None:
    folder = tmp_path / "spec"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ari.spec",
            "save",
            ari_mock.url,
            str(folder),
            "--user",
            ari_mock.username,
            "--password",
            ari_mock.password,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (folder / "resources.json").exists() and (folder / "api-docs" / "channels.json").exists()
    ari_mock.clear()
    with ari.connect(ari_mock.url, ari_mock.username, ari_mock.password, spec=str(folder)) as client:
        assert "originate" in dir(client.channels)
    assert ari_mock.requests == []


def test_spec_save_reports_bad_credentials(ari_mock: Any, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ari.spec", "save", ari_mock.url, str(tmp_path / "x"), "--password", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "401" in done.stderr and "nope" not in done.stderr
