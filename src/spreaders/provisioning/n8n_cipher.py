"""n8n's own encryption of credential data, so a credential can change instances without being
written anywhere in plaintext: opened with the source instance's key, sealed at once with the
destination's, in memory.

The format (n8n-core `Cipher`, 1.x): base64 of `Salted__` + 8-byte salt + AES-256-CBC ciphertext
(PKCS#7), key and IV derived from the instance's encryption key and the salt by OpenSSL's
`EVP_BytesToKey` with MD5 (CryptoJS-compatible).
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from spreaders.errors import Invalid

_MAGIC = b"Salted__"


def _key_and_iv(encryption_key: str, salt: bytes) -> tuple[bytes, bytes]:
    password = encryption_key.encode("latin-1") + salt
    first = hashlib.md5(password, usedforsecurity=False).digest()
    second = hashlib.md5(first + password, usedforsecurity=False).digest()
    iv = hashlib.md5(second + password, usedforsecurity=False).digest()
    return first + second, iv


def decrypt(data: str, encryption_key: str) -> bytes:
    raw = base64.b64decode(data)
    if len(raw) < 32 or not raw.startswith(_MAGIC):
        raise Invalid("This is not n8n-encrypted credential data.")
    key, iv = _key_and_iv(encryption_key, raw[8:16])
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise Invalid("n8n credential data does not open with this encryption key.") from None


def encrypt(plain: bytes, encryption_key: str) -> str:
    salt = secrets.token_bytes(8)
    key, iv = _key_and_iv(encryption_key, salt)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(_MAGIC + salt + encryptor.update(padded) + encryptor.finalize()).decode()


def reencrypt(data: str, *, source_key: str, destination_key: str) -> str:
    """`data` sealed by one instance, sealed again for another; the plaintext lives only in memory."""
    return encrypt(decrypt(data, source_key), destination_key)
