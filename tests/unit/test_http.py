"""The HTTP layer's settings: TLS verification, environment proxies and CA bundles, the pool."""

from __future__ import annotations

import pytest
import requests

from ari.http import HTTPTransport


def _prepared(url: str) -> requests.PreparedRequest:
    return requests.Request("GET", url).prepare()


def test_tls_verification_is_on_by_default_and_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert HTTPTransport("https://pbx:8089", "u", "p")._send_options["verify"] is True
    assert HTTPTransport("https://pbx:8089", "u", "p", verify=False)._send_options["verify"] is False
    assert HTTPTransport("https://pbx:8089", "u", "p", verify="/etc/ca.pem")._send_options["verify"] == "/etc/ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/env/ca.pem")
    assert HTTPTransport("https://pbx:8089", "u", "p")._send_options["verify"] == "/env/ca.pem"
    assert HTTPTransport("https://pbx:8089", "u", "p", verify=False)._send_options["verify"] is False


def test_environment_proxies_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "local.example")
    proxied = HTTPTransport("http://pbx.example:8088", "u", "p")
    direct = HTTPTransport("http://local.example:8088", "u", "p")
    assert proxied._send_options["proxies"]["http"] == "http://proxy.example:3128"
    assert "http" not in direct._send_options["proxies"]
    request = _prepared("http://pbx.example:8088/ari/channels?x=1")
    adapter = proxied._adapter
    assert adapter.request_url(request, proxied._send_options["proxies"]) == "http://pbx.example:8088/ari/channels?x=1"
    assert adapter.request_url(request, {}) == "/ari/channels?x=1"
    pool = adapter.get_connection_with_tls_context(request, True, proxies=proxied._send_options["proxies"])
    assert pool.proxy is not None and pool.proxy.host == "proxy.example"


def test_one_pool_per_origin_and_settings() -> None:
    transport = HTTPTransport("http://pbx:8088", "u", "p")
    adapter = transport._adapter
    first = adapter.get_connection_with_tls_context(_prepared("http://pbx:8088/ari/a"), True)
    assert adapter.get_connection_with_tls_context(_prepared("http://pbx:8088/ari/b?c=d"), True) is first
    assert adapter.get_connection_with_tls_context(_prepared("http://other:8088/ari/a"), True) is not first
    transport.close()
    assert adapter.get_connection_with_tls_context(_prepared("http://pbx:8088/ari/a"), True) is not first


def _exception_classes(module: object, base: type) -> list:
    return sorted(
        {c for c in vars(module).values() if isinstance(c, type) and issubclass(c, base)}, key=lambda c: c.__name__
    )


def _instance(cls: type) -> BaseException:
    """One of ``cls``, whatever its __init__ wants (pools, URLs, documents, byte counts)."""
    import types

    answer = types.SimpleNamespace(tell=lambda: 3, length_remaining=7)
    attempts = [("boom",), (None, "boom"), (None, "http://pbx:8088/ari/x", "boom"), (0, 10), ("boom", "doc", 0)]
    for args in [*attempts, (answer, b"zz")]:
        try:
            error = cls(*args)
            str(error)
            return error
        except Exception:
            continue
    raise AssertionError(f"cannot make a {cls.__name__}")


def test_every_requests_and_urllib3_exception_becomes_an_ari_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib3.exceptions

    import ari
    from ari.transports import PreparedRequest

    classes = [
        *_exception_classes(requests.exceptions, requests.RequestException),
        *_exception_classes(urllib3.exceptions, urllib3.exceptions.HTTPError),
    ]
    assert len(classes) > 20
    transport = HTTPTransport("http://pbx:8088", "u", "p", timeout=1)
    for cls in classes:
        error = _instance(cls)

        def fail(*args: object, error: BaseException = error, **kwargs: object) -> None:
            raise error

        monkeypatch.setattr(transport._adapter, "send", fail)
        with pytest.raises(ari.ARIError) as caught:
            transport.send(PreparedRequest("GET", "/x"))
        assert caught.value.__cause__ is error, cls
    transport.close()


def test_the_request_target_is_the_url_after_the_host_exactly_as_built() -> None:
    adapter = HTTPTransport("http://pbx:8088", "u", "p")._adapter
    for url, target in [
        ("http://pbx:8088/ari/channels?x=1", "/ari/channels?x=1"),
        ("http://[::1]:8088/asterisk/ari/channels/a%2Fb?v=%2F%3F", "/asterisk/ari/channels/a%2Fb?v=%2F%3F"),
        ("https://pbx/ari/channels/%2E%2E", "/ari/channels/%2E%2E"),
        ("http://pbx:8088", "/"),
    ]:
        request = requests.PreparedRequest()
        request.url = url  # as the transport sets it: its own encoding, never re-parsed
        assert adapter.request_url(request, {}) == target
