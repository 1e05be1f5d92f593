"""Master-key backends: where the keys that wrap each record's data key live.

A backend holds numbered key versions, one of them current. It wraps a data key under a version and
unwraps it again; it never sees a record's body. `local` keeps the keys in this process (settings or a
key file); `transit` asks a HashiCorp Vault Transit engine, so the master key never leaves Vault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, order=True)
class KeyId:
    """One master key version of one backend, written as `local:2` or `transit:5`."""

    backend: str
    version: int

    def __str__(self) -> str:
        return f"{self.backend}:{self.version}"

    @classmethod
    def parse(cls, text: str) -> KeyId:
        backend, _, version = text.partition(":")
        return cls(backend, int(version))


class KeyBackend(Protocol):
    name: str  # "local" or "transit"; also the one-letter tag in sealed headers (see cipher)

    def current_version(self) -> int:
        """The version new data keys are wrapped under."""
        ...

    def versions(self) -> list[int]:
        """Every version that can unwrap."""
        ...

    def has_version(self, version: int) -> bool:
        """Whether data keys wrapped under `version` can be unwrapped here."""
        ...

    def wrap(self, data_key: bytes, *, aad: bytes, version: int | None = None) -> tuple[int, bytes]:
        """Wrap `data_key` under `version` (default: current); return the version used and the blob."""
        ...

    def unwrap(self, version: int, wrapped: bytes, *, aad: bytes) -> bytes:
        """Unwrap a data key; raise SealedValueInvalid if it was not wrapped by this key for `aad`."""
        ...

    def add_version(self) -> int:
        """Create a new key version, make it current and return it (the first step of a rotation)."""
        ...
