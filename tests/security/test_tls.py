"""HTTPS when a certificate is configured: a self-signed certificate made in
the test, the real app under uvicorn with the options ``sightline serve``
passes, and an httpx client that trusts exactly that certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sightline.api.context import AppContext
from sightline.api.factory import build_app
from sightline.api.threaded import ThreadedServer
from sightline.cli import main
from sightline.security.tls import TlsConfigError, TlsFiles, resolve_tls


def _self_signed(folder: Path, name: str = "server") -> TlsFiles:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(folder / f"{name}.crt", folder / f"{name}.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    files.key.chmod(0o600)
    return files


@pytest.fixture
def https_server(ctx: AppContext, tmp_path: Path) -> Iterator[tuple[str, TlsFiles]]:
    made = _self_signed(tmp_path)
    files = resolve_tls(str(made.cert), str(made.key), environ={})
    assert files is not None
    server = ThreadedServer(build_app(ctx), **files.uvicorn_options())
    url = server.start(timeout=10)
    assert url.startswith("https://127.0.0.1:")
    yield url, files
    server.stop()


def test_serves_https_with_the_configured_certificate(
    https_server: tuple[str, TlsFiles], tmp_path: Path
) -> None:
    url, files = https_server
    trust = ssl.create_default_context(cafile=str(files.cert))
    with httpx.Client(verify=trust) as client:
        r = client.get(f"{url}/healthz")
        assert r.status_code == 200
        assert client.get(f"{url}/api/cameras").status_code == 401  # same rules over TLS
    stranger = ssl.create_default_context(cafile=str(_self_signed(tmp_path, "other").cert))
    with httpx.Client(verify=stranger) as client, pytest.raises(httpx.ConnectError):
        client.get(f"{url}/healthz")  # a client that does not trust it refuses to talk
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url.replace("https", "http") + "/healthz")  # no plain HTTP on that port


def test_bad_tls_settings_are_named(tmp_path: Path) -> None:
    good = _self_signed(tmp_path)
    other = _self_signed(tmp_path, "other")
    assert resolve_tls(None, None, environ={}) is None
    with pytest.raises(TlsConfigError, match="add --tls-key"):
        resolve_tls(str(good.cert), None, environ={})
    with pytest.raises(TlsConfigError, match="does not exist"):
        resolve_tls(str(tmp_path / "nope.crt"), str(good.key), environ={})
    with pytest.raises(TlsConfigError, match="cannot use TLS certificate"):
        resolve_tls(str(good.cert), str(other.key), environ={})  # key of another certificate
    from_env = resolve_tls(
        None, None, environ={"SIGHTLINE_TLS_CERT": str(good.cert), "SIGHTLINE_TLS_KEY": str(good.key)}
    )
    assert from_env == good


def test_serve_refuses_a_bad_certificate_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _self_signed(tmp_path)
    code = main(["serve", "--no-demo", "--data", str(tmp_path / "d"), "--tls-cert", str(good.cert)])
    assert code != 0 and "add --tls-key" in capsys.readouterr().err
