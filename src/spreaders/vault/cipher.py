"""The one cipher: envelope encryption with AES-256-GCM.

Each sealed value gets its own random 256-bit data key, which encrypts the body; the data key is wrapped
by a master key version of a key backend (local keys, or HashiCorp Vault Transit). Associated data (for
example "tenant:t_1|credentials:crd_9") is bound into both layers, so a ciphertext copied to another row
or tenant fails to open. Rotation re-wraps only the data key; the body is never re-encrypted.

Layout: "S2"(2) | backend(1: L or T) | key_version(4) | wrapped_len(2) | wrapped | nonce(12) | body+tag
The first PREFIX_SIZE bytes name the master key, so SQL can count and select values per key without
opening them (see vault.rotation). Values written before key versioning ("S1"(2) | key_version(2) |
wrap_nonce(12) | wrapped(48) | nonce(12) | body+tag, always local) still open; rotation rewrites them.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from spreaders.vault.errors import MasterKeyMissing, SealedValueInvalid
from spreaders.vault.keyring import KeyBackend, KeyId
from spreaders.vault.keyring.local import WRAPPED_SIZE, LocalKeys

_MAGIC = b"S2"
_LEGACY_MAGIC = b"S1"
_TAGS = {"local": b"L", "transit": b"T"}
_NAMES = {tag: name for name, tag in _TAGS.items()}
_HEAD = struct.Struct(">2s1sIH")  # magic, backend tag, key version, wrapped length
_LEGACY_HEAD = struct.Struct(">2sH")
PREFIX_SIZE = 7  # magic + backend tag + key version: the part that names the master key
_NONCE = 12
_TAG = 16


@dataclass(frozen=True)
class _Parts:
    key: KeyId
    wrapped: bytes
    nonce: bytes
    body: bytes


def key_prefix(key: KeyId) -> bytes:
    """The leading bytes of every value sealed under `key`."""
    return _HEAD.pack(_MAGIC, _TAGS[key.backend], key.version, 0)[:PREFIX_SIZE]


def key_of_prefix(prefix: bytes) -> KeyId | None:
    """The master key named by a sealed value's first PREFIX_SIZE bytes; None if they name none."""
    if prefix[:2] == _MAGIC and len(prefix) >= PREFIX_SIZE and prefix[2:3] in _NAMES:
        return KeyId(_NAMES[prefix[2:3]], struct.unpack(">I", prefix[3:7])[0])
    if prefix[:2] == _LEGACY_MAGIC and len(prefix) >= _LEGACY_HEAD.size:
        return KeyId("local", _LEGACY_HEAD.unpack_from(prefix)[1])
    return None


def legacy_prefix(version: int) -> bytes:
    """The leading bytes of a value sealed under local `version` before key versioning."""
    return _LEGACY_HEAD.pack(_LEGACY_MAGIC, version)


def _parse(blob: bytes) -> _Parts:
    malformed = SealedValueInvalid("Sealed value is malformed.", hint="Store the secret again.")
    if blob[:2] == _LEGACY_MAGIC and len(blob) >= _LEGACY_HEAD.size + WRAPPED_SIZE + _NONCE + _TAG:
        version = _LEGACY_HEAD.unpack_from(blob)[1]
        start = _LEGACY_HEAD.size
        wrapped_end = start + WRAPPED_SIZE
        return _Parts(
            KeyId("local", version),
            blob[start:wrapped_end],
            blob[wrapped_end : wrapped_end + _NONCE],
            blob[wrapped_end + _NONCE :],
        )
    if blob[:2] != _MAGIC or len(blob) < _HEAD.size:
        raise malformed
    _, tag, version, wrapped_len = _HEAD.unpack_from(blob)
    wrapped_end = _HEAD.size + wrapped_len
    if tag not in _NAMES or len(blob) < wrapped_end + _NONCE + _TAG:
        raise malformed
    return _Parts(
        KeyId(_NAMES[tag], version),
        blob[_HEAD.size : wrapped_end],
        blob[wrapped_end : wrapped_end + _NONCE],
        blob[wrapped_end + _NONCE :],
    )


class Cipher:
    """Seal, open and re-wrap values; the first backend given is the one new values are sealed with."""

    def __init__(self, backends: Sequence[KeyBackend]) -> None:
        if not backends:
            raise MasterKeyMissing("No master key backend is configured.")
        self._backends = {backend.name: backend for backend in backends}
        self._current = backends[0]

    @classmethod
    def local(cls, keys: dict[int, bytes], current_version: int | None = None) -> Cipher:
        """A cipher over local keys only (tests, tools)."""
        return cls([LocalKeys(keys, current=current_version)])

    @property
    def backends(self) -> list[KeyBackend]:
        return list(self._backends.values())

    @property
    def current_backend(self) -> KeyBackend:
        return self._current

    def current_key(self) -> KeyId:
        """The master key new values are sealed under (a Transit backend asks Vault)."""
        return KeyId(self._current.name, self._current.current_version())

    def has_key(self, key: KeyId) -> bool:
        backend = self._backends.get(key.backend)
        return backend is not None and backend.has_version(key.version)

    def _backend(self, key: KeyId) -> KeyBackend:
        backend = self._backends.get(key.backend)
        if backend is None:
            raise MasterKeyMissing(
                f"Sealed value uses master key {key}, but the {key.backend} key backend is not configured.",
                hint="Configure it again (SPREADERS_VAULT__*) to open these values, or restore from backup.",
            )
        return backend

    def _pack(self, backend: KeyBackend, data_key: bytes, aad: bytes, version: int | None) -> bytes:
        used, wrapped = backend.wrap(data_key, aad=aad, version=version)
        return _HEAD.pack(_MAGIC, _TAGS[backend.name], used, len(wrapped)) + wrapped

    def seal(self, plaintext: bytes, *, aad: str, key: KeyId | None = None) -> bytes:
        """Encrypt `plaintext` under a fresh data key bound to `aad` (wrapped by `key`, default current)."""
        ad = aad.encode()
        backend = self._current if key is None else self._backend(key)
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE)
        head = self._pack(backend, data_key, ad, None if key is None else key.version)
        return head + nonce + AESGCM(data_key).encrypt(nonce, plaintext, ad)

    def _data_key(self, parts: _Parts, ad: bytes) -> bytes:
        return self._backend(parts.key).unwrap(parts.key.version, parts.wrapped, aad=ad)

    def open(self, blob: bytes, *, aad: str) -> bytes:
        """Decrypt a sealed value; fails if it was tampered with or sealed for other associated data."""
        parts = _parse(blob)
        ad = aad.encode()
        data_key = self._data_key(parts, ad)
        try:
            return AESGCM(data_key).decrypt(parts.nonce, parts.body, ad)
        except InvalidTag as exc:
            raise SealedValueInvalid("Sealed value does not open with this key and context.") from exc

    def rewrap(self, blob: bytes, *, aad: str) -> bytes:
        """Re-wrap the value's data key under the current master key; the body is kept as it is.

        The body is authenticated before anything is written, so a tampered value is refused here
        rather than carried forward under the new key.
        """
        parts = _parse(blob)
        ad = aad.encode()
        data_key = self._data_key(parts, ad)
        try:
            AESGCM(data_key).decrypt(parts.nonce, parts.body, ad)
        except InvalidTag as exc:
            raise SealedValueInvalid("Sealed value does not open with this key and context.") from exc
        return self._pack(self._current, data_key, ad, None) + parts.nonce + parts.body

    @staticmethod
    def key_of(blob: bytes) -> KeyId:
        """The master key a sealed value's data key is wrapped under (read from its header)."""
        return _parse(blob).key
