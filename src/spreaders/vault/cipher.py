"""The one cipher: envelope encryption with AES-256-GCM.

Each sealed value gets its own random data key; the data key is wrapped by the current master key.
Associated data (for example "tenant:t_1|credentials:crd_9") is bound into both layers, so a ciphertext
copied to another row or tenant fails to open.

Layout: magic(2) | key_version(2) | wrap_nonce(12) | wrapped_key(48) | nonce(12) | ciphertext+tag
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from spreaders.errors import Invalid, Unavailable

_MAGIC = b"S1"
_HEADER = struct.Struct(">2sH12s48s12s")


class Cipher:
    def __init__(self, master_keys: dict[int, bytes], current_version: int) -> None:
        if current_version not in master_keys:
            raise Unavailable(f"Master key version {current_version} is not configured.")
        for version, key in master_keys.items():
            if len(key) != 32:
                raise Unavailable(f"Master key version {version} must be 32 bytes.")
        self._keys = master_keys
        self._current = current_version

    def seal(self, plaintext: bytes, *, aad: str) -> bytes:
        """Encrypt `plaintext` under a fresh data key bound to `aad`."""
        ad = aad.encode()
        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce, nonce = os.urandom(12), os.urandom(12)
        wrapped = AESGCM(self._keys[self._current]).encrypt(wrap_nonce, data_key, ad)
        body = AESGCM(data_key).encrypt(nonce, plaintext, ad)
        return _HEADER.pack(_MAGIC, self._current, wrap_nonce, wrapped, nonce) + body

    def open(self, blob: bytes, *, aad: str) -> bytes:
        """Decrypt a sealed value; fails if it was sealed for other associated data."""
        if len(blob) < _HEADER.size or blob[:2] != _MAGIC:
            raise Invalid("Sealed value is malformed.")
        _, version, wrap_nonce, wrapped, nonce = _HEADER.unpack_from(blob)
        master = self._keys.get(version)
        if master is None:
            raise Unavailable(
                f"Sealed value uses master key version {version}, which is not configured.",
                hint="Restore that key in SPREADERS_MASTER_KEY or the key file.",
            )
        ad = aad.encode()
        try:
            data_key = AESGCM(master).decrypt(wrap_nonce, wrapped, ad)
            return AESGCM(data_key).decrypt(nonce, blob[_HEADER.size :], ad)
        except InvalidTag as exc:
            raise Invalid("Sealed value does not open with this key and context.") from exc


def decode_master_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError) as exc:
        raise Unavailable(
            "The master key is not valid urlsafe base64.",
            hint="Generate one with: python -c 'import secrets,base64;"
            "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'",
        ) from exc
    if len(key) != 32:
        raise Unavailable("The master key must decode to 32 bytes.")
    return key


def load_or_create_master_key(path: Path, *, allow_create: bool) -> bytes:
    """Read the master key file, creating it (mode 0600) only when the database holds no secrets yet."""
    if path.exists():
        return decode_master_key(path.read_text())
    if not allow_create:
        raise Unavailable(
            f"The master key file {path} is missing but the database holds sealed secrets.",
            hint="Restore the key file or set SPREADERS_MASTER_KEY; without it those secrets cannot be read.",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    return decode_master_key(text)
