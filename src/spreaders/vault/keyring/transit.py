"""HashiCorp Vault Transit as the master-key backend, through `hvac`.

Data keys are wrapped with Transit `encrypt` and unwrapped with `decrypt`, so the master key never leaves
Vault; the key's versions are Transit's own (`rotate` adds one, the latest is current). The associated
data of each record is passed as Transit `associated_data`, so Vault itself also refuses a data key
presented for another row. hvac is synchronous: each call blocks for one round trip to Vault, which is
why rotation runs its batches in a worker thread.

Enable with `SPREADERS_VAULT__BACKEND=transit` plus `__TRANSIT_URL` and `__TRANSIT_TOKEN`; the key
(`__TRANSIT_KEY`, default `spreaders`) is created as aes256-gcm96 if it does not exist yet.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from spreaders.errors import Unavailable
from spreaders.vault.errors import MasterKeyMissing, SealedValueInvalid

T = TypeVar("T")
_CIPHERTEXT = re.compile(r"^vault:v(\d+):")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TransitKeys:
    """A Transit key as a key ring: versions, wrap (encrypt) and unwrap (decrypt) of data keys."""

    name = "transit"

    def __init__(
        self,
        *,
        url: str,
        token: str,
        key_name: str = "spreaders",
        mount_point: str = "transit",
        namespace: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        self._client = hvac.Client(url=url, token=token, namespace=namespace or None, timeout=timeout_s)
        self._url = url
        self._key = key_name
        self._mount = mount_point

    def _failure(self, exc: Exception, what: str) -> Unavailable:
        if isinstance(exc, hvac.exceptions.Forbidden):
            return Unavailable(
                f"HashiCorp Vault refused to {what}.",
                hint="Check SPREADERS_VAULT__TRANSIT_TOKEN and its policy on the Transit key.",
            )
        return Unavailable(
            f"HashiCorp Vault at {self._url} could not {what}: {exc.__class__.__name__}.",
            hint="Check SPREADERS_VAULT__TRANSIT_URL and that Vault is unsealed and reachable.",
        )

    def _call(self, action: Callable[[], T], *, what: str) -> T:
        try:
            return action()
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            raise self._failure(exc, what) from exc

    def _read_key(self) -> dict[str, Any]:
        transit = self._client.secrets.transit

        def read() -> Any:
            return transit.read_key(name=self._key, mount_point=self._mount)

        try:
            response = read()
        except hvac.exceptions.InvalidPath:
            self._call(
                lambda: transit.create_key(name=self._key, key_type="aes256-gcm96", mount_point=self._mount),
                what=f"create the Transit key {self._key}",
            )
            response = self._call(read, what="read the Transit key")
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            raise self._failure(exc, "read the Transit key") from exc
        data: dict[str, Any] = response["data"]
        return data

    def current_version(self) -> int:
        return int(self._read_key()["latest_version"])

    def versions(self) -> list[int]:
        data = self._read_key()
        return list(range(int(data.get("min_decryption_version", 1)), int(data["latest_version"]) + 1))

    def has_version(self, version: int) -> bool:
        return version in self.versions()

    def wrap(self, data_key: bytes, *, aad: bytes, version: int | None = None) -> tuple[int, bytes]:
        transit = self._client.secrets.transit
        response = self._call(
            lambda: transit.encrypt_data(
                name=self._key,
                plaintext=_b64(data_key),
                associated_data=_b64(aad),
                key_version=version,
                mount_point=self._mount,
            ),
            what="wrap a data key",
        )
        ciphertext = str(response["data"]["ciphertext"])
        found = _CIPHERTEXT.match(ciphertext)
        if found is None:
            raise Unavailable("HashiCorp Vault answered encrypt with an unexpected ciphertext format.")
        return int(found.group(1)), ciphertext.encode()

    def unwrap(self, version: int, wrapped: bytes, *, aad: bytes) -> bytes:
        ciphertext = wrapped.decode("ascii", errors="replace")
        found = _CIPHERTEXT.match(ciphertext)
        # The header's version must be the one inside Transit's ciphertext: a changed header is tampering.
        if found is None or int(found.group(1)) != version:
            raise SealedValueInvalid("Sealed value is malformed (Transit ciphertext and header disagree).")
        transit = self._client.secrets.transit
        try:
            response = transit.decrypt_data(
                name=self._key, ciphertext=ciphertext, associated_data=_b64(aad), mount_point=self._mount
            )
        except hvac.exceptions.InvalidRequest as exc:
            if not self.has_version(version):
                raise MasterKeyMissing(
                    f"Sealed value uses Transit key version {version}, which Vault no longer decrypts.",
                    hint="Lower min_decryption_version of the Transit key, or restore the key from backup.",
                ) from exc
            raise SealedValueInvalid("Sealed value does not open with this key and context.") from exc
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            raise self._failure(exc, "unwrap a data key") from exc
        return base64.b64decode(response["data"]["plaintext"])

    def add_version(self) -> int:
        transit = self._client.secrets.transit
        self._read_key()  # creates the key when missing, so rotate on a new Vault works
        self._call(lambda: transit.rotate_key(name=self._key, mount_point=self._mount), what="rotate the key")
        return self.current_version()
