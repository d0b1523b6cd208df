"""Trusted origins: scheme, host and port, the console's own and the configured ones."""

import pytest

from broadcastops.origins import origin_of, origin_trusted, socket_origin_trusted


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://LocalHost:8000/path?q=1", "http://localhost:8000"),
        ("https://console.example:443", "https://console.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("ftp://x", None),
        ("null", None),
        ("http://host:99999", None),
    ],
)
def test_an_origin_is_scheme_host_and_port(url, origin):
    assert origin_of(url) == origin


def test_the_own_origin_and_configured_ones_are_trusted_and_nothing_else(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.test", "https://ops.other.test"]
    settings.CORS_ALLOWED_ORIGINS = ["http://player.test:3000"]
    own = "http://localhost:8000"
    assert origin_trusted("http://localhost:8000", own=own)
    assert not origin_trusted("http://localhost:3000", own=own)
    assert not origin_trusted("https://localhost:8000", own=own)
    assert origin_trusted("https://console.example.test", own=own)
    assert not origin_trusted("https://example.test.evil", own=own)
    assert not origin_trusted("http://console.example.test", own=own)
    assert origin_trusted("https://ops.other.test", own=own)
    assert origin_trusted("http://player.test:3000", own=own)
    assert not origin_trusted("http://player.test", own=own)
    assert not origin_trusted("", own=own) and not origin_trusted(None, own=own)


def _scope(origin: bytes, host: bytes, **extra) -> dict:
    return {"type": "websocket", "headers": [(b"origin", origin), (b"host", host)], **extra}


def test_a_socket_is_trusted_from_its_own_host_only(settings):
    assert socket_origin_trusted(_scope(b"http://127.0.0.1:8000", b"127.0.0.1:8000"))
    assert not socket_origin_trusted(_scope(b"http://127.0.0.1:3000", b"127.0.0.1:8000"))
    # A Host the console does not serve is no origin of its own.
    assert not socket_origin_trusted(_scope(b"http://evil.test", b"evil.test"))


def test_a_socket_behind_a_tls_proxy_has_an_https_origin(settings):
    settings.ALLOWED_HOSTS = ["console.example.test"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = _scope(b"https://console.example.test", b"console.example.test")
    assert not socket_origin_trusted(proxied)
    proxied["headers"].append((b"x-forwarded-proto", b"https"))
    assert socket_origin_trusted(proxied)
    assert socket_origin_trusted(
        _scope(b"https://console.example.test", b"console.example.test", scheme="wss")
    )
