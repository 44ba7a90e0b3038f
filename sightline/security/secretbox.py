"""Encryption of secrets at rest: camera URLs (which may carry
``user:password@``) and webhook signing secrets.

Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package) with a
key derived from the server key. Stored values look like ``enc:v1:<token>``;
the prefix tells encrypted values from rows written before encryption existed
(those are read as they are and encrypted at the next start, see
:func:`sightline.storage.encrypted.encrypt_legacy_rows`).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken

from sightline.security.keys import ServerKeys
from sightline.storage.encrypted import ENCRYPTED_PREFIX as PREFIX


class SecretDecryptError(RuntimeError):
    """A stored secret cannot be decrypted with the configured server key."""


def is_encrypted(value: str) -> bool:
    return value.startswith(PREFIX)


class SecretBox:
    def __init__(self, keys: ServerKeys) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(keys.secrets_key))
        self._source = keys.source

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not is_encrypted(stored):
            return stored  # written before encryption at rest; re-encrypted at the next start
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretDecryptError(
                "a stored camera URL or webhook secret cannot be decrypted with the server key from "
                f"{self._source}: it was encrypted with another key; restore the original key "
                "(SIGHTLINE_SECRET_KEY or <data dir>/secret.key)"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(***)"
