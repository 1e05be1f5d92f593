"""Local master keys: 32-byte AES keys from settings or a key file, one line per version.

Key file lines are `VERSION:KEY` (urlsafe base64 of 32 bytes); a line without a version is version 1,
which is how single-key files written before versioning read. A file-backed ring re-reads the file when
it changes, so every process on the machine picks up a version that `spreaders vault rotate` added while
they serve: they seal under it at once and can open values re-wrapped under it.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from spreaders.errors import Invalid, Unavailable
from spreaders.vault.errors import MasterKeyMissing, SealedValueInvalid

logger = logging.getLogger(__name__)

_NEW_KEY_HINT = (
    "Generate one with: python -c 'import secrets,base64;"
    "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'"
)
WRAPPED_SIZE = 12 + 32 + 16  # nonce | encrypted data key | tag


def new_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def decode_master_key(text: str, *, where: str = "The master key") -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError) as exc:
        raise Unavailable(f"{where} is not valid urlsafe base64.", hint=_NEW_KEY_HINT) from exc
    if len(key) != 32:
        raise Unavailable(f"{where} must decode to 32 bytes, not {len(key)}.", hint=_NEW_KEY_HINT)
    return key


def parse_key_lines(text: str, *, source: str) -> dict[int, bytes]:
    """Read `VERSION:KEY` entries (lines or commas); a bare key is version 1."""
    keys: dict[int, bytes] = {}
    for raw in text.replace(",", "\n").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        version_text, _, key_text = line.rpartition(":")
        if not version_text.strip().isdigit():
            if version_text:
                raise Unavailable(f"{source}: '{version_text}' is not a key version number.")
            version_text = "1"
        version = int(version_text)
        if version < 1 or version in keys:
            raise Unavailable(f"{source}: key version {version} is zero or listed twice.")
        keys[version] = decode_master_key(key_text, where=f"{source}: key version {version}")
    if not keys:
        raise Unavailable(f"{source} holds no key.", hint=_NEW_KEY_HINT)
    return keys


def _write_key_file(path: Path, keys: Mapping[int, str]) -> None:
    """Write the key file atomically (readers see the old or the new file, never half of one), mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{version}:{text}\n" for version, text in sorted(keys.items()))
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def create_key_file(path: Path) -> None:
    """Create a key file holding a fresh version 1; refuse to overwrite one."""
    if path.exists():
        raise Unavailable(f"The key file {path} already exists.")
    _write_key_file(path, {1: new_key_text()})


class LocalKeys:
    """A key ring of local AES-256 keys; the current version is pinned or the highest one."""

    name = "local"

    def __init__(
        self, keys: Mapping[int, bytes], *, current: int | None = None, file: Path | None = None
    ) -> None:
        self._keys = dict(keys)
        self._pinned = current
        self._file = file
        self._stamp = self._file_stamp()
        if current is not None and current not in self._keys:
            raise MasterKeyMissing(
                f"The current master key version {current} is not among the configured versions "
                f"{sorted(self._keys)}.",
                hint="Add that version to the key ring or set SPREADERS_VAULT__CURRENT_KEY_VERSION to one.",
            )

    @classmethod
    def from_file(cls, path: Path, *, current: int | None = None) -> LocalKeys:
        return cls(parse_key_lines(path.read_text(), source=f"Key file {path}"), current=current, file=path)

    def _file_stamp(self) -> tuple[int, int] | None:
        if self._file is None:
            return None
        try:
            stat = self._file.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _refresh(self) -> None:
        """Take in versions added to the key file since it was read; a changed old version is ignored."""
        stamp = self._file_stamp()
        if self._file is None or stamp is None or stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            found = parse_key_lines(self._file.read_text(), source=f"Key file {self._file}")
        except (OSError, Unavailable):
            logger.exception("Key file %s changed but cannot be read; keeping the keys loaded", self._file)
            return
        for version, key in found.items():
            if version not in self._keys:
                self._keys[version] = key
            elif self._keys[version] != key:
                logger.error(
                    "Key file %s changed key version %s; keeping the loaded one", self._file, version
                )

    def versions(self) -> list[int]:
        self._refresh()
        return sorted(self._keys)

    def current_version(self) -> int:
        self._refresh()
        return self._pinned if self._pinned is not None else max(self._keys)

    def has_version(self, version: int) -> bool:
        if version not in self._keys:
            self._refresh()
        return version in self._keys

    def wrap(self, data_key: bytes, *, aad: bytes, version: int | None = None) -> tuple[int, bytes]:
        chosen = self.current_version() if version is None else version
        if not self.has_version(chosen):
            raise MasterKeyMissing(f"Master key local:{chosen} is not configured.")
        nonce = os.urandom(12)
        return chosen, nonce + AESGCM(self._keys[chosen]).encrypt(nonce, data_key, aad)

    def unwrap(self, version: int, wrapped: bytes, *, aad: bytes) -> bytes:
        if not self.has_version(version):
            raise MasterKeyMissing(
                f"Sealed value uses master key local:{version}, which is not configured.",
                hint="Restore that key version in the key file or SPREADERS_VAULT__MASTER_KEYS.",
            )
        if len(wrapped) != WRAPPED_SIZE:
            raise SealedValueInvalid("Sealed value is malformed (wrapped data key has the wrong size).")
        try:
            return AESGCM(self._keys[version]).decrypt(wrapped[:12], wrapped[12:], aad)
        except InvalidTag as exc:
            raise SealedValueInvalid("Sealed value does not open with this key and context.") from exc

    def add_version(self) -> int:
        if self._file is None:
            raise Invalid(
                "Master keys come from settings, so the rotation cannot add a key version itself.",
                hint="Add the new version to SPREADERS_VAULT__MASTER_KEYS (as VERSION:KEY) on every process, "
                "make it current, then run `spreaders vault rotate` again.",
            )
        if self._pinned is not None:
            raise Invalid(
                f"SPREADERS_VAULT__CURRENT_KEY_VERSION pins version {self._pinned}, so a new version "
                "would not become current.",
                hint="Unset it (the highest version is then current) or pin the version you added.",
            )
        # Two rotations at once must not both write "version N+1" with different keys (one key would be
        # lost with the values sealed under it), so the read-modify-write holds an exclusive file lock.
        lock_path = self._file.with_name(self._file.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._refresh()
            version = max(self._keys) + 1
            text = new_key_text()
            existing = {v: base64.urlsafe_b64encode(k).decode() for v, k in self._keys.items()}
            _write_key_file(self._file, {**existing, version: text})
            self._keys[version] = decode_master_key(text)
            self._stamp = self._file_stamp()
        return version
