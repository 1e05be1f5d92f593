"""Attacks on sealed values: every header field and the body tampered with, values moved between rows
and tenants, wrong and missing key versions. The cipher is the real one; no database is needed."""

from __future__ import annotations

import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from spreaders.vault.cipher import Cipher
from spreaders.vault.errors import MasterKeyMissing, SealedValueInvalid
from spreaders.vault.keyring import KeyId
from spreaders.vault.sealed import row_aad

SECRET = b'{"apiKey": "canary-4f1c9e-do-not-leak"}'
AAD = row_aad("ten_a", "credentials", "crd_1")
KEY_1, KEY_2 = os.urandom(32), os.urandom(32)

# Byte ranges of a local value: "S2" | tag | version | wrapped_len | wrap nonce | wrapped key | wrap tag |
# nonce | body | body tag.
FIELDS = {
    "magic": 0,
    "backend tag": 2,
    "key version": 6,
    "wrapped length": 8,
    "wrap nonce": 9,
    "wrapped data key": 30,
    "wrap tag": 60,
    "body nonce": 75,
    "body": 90,
    "body tag": -1,
}


def _cipher(*versions: int, current: int | None = None) -> Cipher:
    keys = {1: KEY_1, 2: KEY_2}
    return Cipher.local({v: keys[v] for v in versions}, current)


def _flip(blob: bytes, at: int) -> bytes:
    changed = bytearray(blob)
    changed[at] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize("field", list(FIELDS))
def test_tampering_with_any_field_of_a_sealed_value_is_refused(field: str) -> None:
    cipher = _cipher(1)
    blob = cipher.seal(SECRET, aad=AAD)
    with pytest.raises((SealedValueInvalid, MasterKeyMissing)):
        cipher.open(_flip(blob, FIELDS[field]), aad=AAD)
    assert cipher.open(blob, aad=AAD) == SECRET


@pytest.mark.parametrize("cut", [1, 16, 40])
def test_truncated_sealed_value_is_refused_as_malformed(cut: int) -> None:
    cipher = _cipher(1)
    blob = cipher.seal(SECRET, aad=AAD)
    with pytest.raises(SealedValueInvalid):
        cipher.open(blob[: len(blob) - cut] if cut > 16 else blob[:cut], aad=AAD)


@pytest.mark.parametrize(
    "moved_to",
    [
        row_aad("ten_a", "credentials", "crd_2"),  # another row of the same tenant
        row_aad("ten_b", "credentials", "crd_1"),  # the same row id under another tenant
        row_aad("ten_a", "n8n_instances", "crd_1"),  # another table
    ],
)
def test_sealed_value_moved_to_another_row_tenant_or_table_does_not_open(moved_to: str) -> None:
    cipher = _cipher(1)
    with pytest.raises(SealedValueInvalid, match="does not open"):
        cipher.open(cipher.seal(SECRET, aad=AAD), aad=moved_to)


def test_header_naming_another_configured_key_version_is_refused() -> None:
    cipher = _cipher(1, 2, current=1)
    blob = bytearray(cipher.seal(SECRET, aad=AAD))
    blob[3:7] = struct.pack(">I", 2)
    with pytest.raises(SealedValueInvalid):
        cipher.open(bytes(blob), aad=AAD)


def test_value_under_a_key_version_that_is_not_configured_is_refused_with_a_hint() -> None:
    sealed = _cipher(1).seal(SECRET, aad=AAD)
    with pytest.raises(MasterKeyMissing, match="local:1") as caught:
        _cipher(2).open(sealed, aad=AAD)
    assert "Restore that key version" in (caught.value.hint or "")


def test_value_naming_an_unconfigured_backend_is_refused() -> None:
    blob = bytearray(_cipher(1).seal(SECRET, aad=AAD))
    blob[2:3] = b"T"
    with pytest.raises(MasterKeyMissing, match="transit"):
        _cipher(1).open(bytes(blob), aad=AAD)


def test_same_version_with_another_key_does_not_open() -> None:
    sealed = _cipher(1).seal(SECRET, aad=AAD)
    impostor = Cipher.local({1: os.urandom(32)})
    with pytest.raises(SealedValueInvalid):
        impostor.open(sealed, aad=AAD)


def test_rewrap_moves_the_data_key_to_the_current_version_and_keeps_the_body() -> None:
    old = _cipher(1)
    sealed = old.seal(SECRET, aad=AAD)
    rotated = _cipher(1, 2).rewrap(sealed, aad=AAD)
    assert Cipher.key_of(sealed) == KeyId("local", 1)
    assert Cipher.key_of(rotated) == KeyId("local", 2)
    assert rotated[-(len(SECRET) + 16 + 12) :] == sealed[-(len(SECRET) + 16 + 12) :]  # nonce + body + tag
    assert _cipher(2).open(rotated, aad=AAD) == SECRET
    with pytest.raises(MasterKeyMissing):
        old.open(rotated, aad=AAD)


def test_rewrap_refuses_a_tampered_body_instead_of_carrying_it_forward() -> None:
    sealed = _flip(_cipher(1).seal(SECRET, aad=AAD), FIELDS["body"])
    with pytest.raises(SealedValueInvalid):
        _cipher(1, 2).rewrap(sealed, aad=AAD)


def test_rewrap_refuses_a_value_moved_from_another_row() -> None:
    sealed = _cipher(1).seal(SECRET, aad=row_aad("ten_b", "credentials", "crd_9"))
    with pytest.raises(SealedValueInvalid):
        _cipher(1, 2).rewrap(sealed, aad=AAD)


def _legacy_seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """A value as the cipher wrote it before key versions: "S1" | version | wrap_nonce | wrapped | nonce."""
    data_key = AESGCM.generate_key(bit_length=256)
    wrap_nonce, nonce = os.urandom(12), os.urandom(12)
    wrapped = AESGCM(key).encrypt(wrap_nonce, data_key, aad)
    head = struct.pack(">2sH12s48s12s", b"S1", 1, wrap_nonce, wrapped, nonce)
    return head + AESGCM(data_key).encrypt(nonce, plaintext, aad)


def test_values_sealed_before_key_versions_still_open_and_rotate() -> None:
    legacy = _legacy_seal(KEY_1, SECRET, AAD.encode())
    assert _cipher(1).open(legacy, aad=AAD) == SECRET
    assert Cipher.key_of(legacy) == KeyId("local", 1)
    rotated = _cipher(1, 2).rewrap(legacy, aad=AAD)
    assert _cipher(2).open(rotated, aad=AAD) == SECRET
    with pytest.raises(SealedValueInvalid):
        _cipher(1).open(_flip(legacy, 20), aad=AAD)


def test_sealed_value_holds_no_plaintext_and_two_seals_differ() -> None:
    cipher = _cipher(1)
    first, second = cipher.seal(SECRET, aad=AAD), cipher.seal(SECRET, aad=AAD)
    assert b"canary" not in first
    assert first != second
