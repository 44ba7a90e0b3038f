"""TLS for ``sightline serve``: a certificate and key given with
``--tls-cert``/``--tls-key`` (or ``SIGHTLINE_TLS_CERT``/``SIGHTLINE_TLS_KEY``)
make uvicorn serve HTTPS. Both files are loaded once before start-up so a
wrong path, a key that does not match or an encrypted key fails with one
message instead of a traceback from inside the server."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CERT_ENV = "SIGHTLINE_TLS_CERT"
KEY_ENV = "SIGHTLINE_TLS_KEY"


class TlsConfigError(ValueError):
    """The TLS files cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def uvicorn_options(self) -> dict[str, Any]:
        return {"ssl_certfile": str(self.cert), "ssl_keyfile": str(self.key)}


def resolve_tls(
    cert: str | None, key: str | None, environ: Mapping[str, str] | None = None
) -> TlsFiles | None:
    """The TLS files to use, checked; None when neither is configured (plain HTTP)."""
    env = os.environ if environ is None else environ
    cert = cert or env.get(CERT_ENV) or None
    key = key or env.get(KEY_ENV) or None
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        missing = "--tls-cert" if cert is None else "--tls-key"
        raise TlsConfigError(f"TLS needs both a certificate and its private key: add {missing}")
    files = TlsFiles(Path(cert), Path(key))
    for what, path in (("certificate", files.cert), ("private key", files.key)):
        if not path.is_file():
            raise TlsConfigError(f"TLS {what} {path} does not exist or is not a file")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            files.cert,
            files.key,
            password=lambda: b"",  # an encrypted key fails instead of prompting
        )
    except (ssl.SSLError, OSError) as err:
        raise TlsConfigError(
            f"cannot use TLS certificate {files.cert} with key {files.key}: {err}; give a PEM "
            "certificate (chain) and the unencrypted PEM key that belongs to it"
        ) from None
    return files
