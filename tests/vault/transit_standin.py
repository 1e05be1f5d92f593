"""A local HTTP stand-in for the HashiCorp Vault Transit endpoints Spreaders calls.

No Vault server can run on this machine, so the Transit backend is tested against this stand-in over
real HTTP through the real `hvac` client. It implements what Spreaders uses, as Vault documents it:
token check (403), keys read/create/rotate, encrypt (creating a missing key) and decrypt with
`key_version` and `associated_data`, `min_decryption_version`, and 400 for ciphertexts that do not open.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN = "hvs.test-token"


class TransitStandIn:
    def __init__(self) -> None:
        self.keys: dict[str, list[bytes]] = {}
        self.min_decryption_version: dict[str, int] = {}
        self.calls: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.headers.get("X-Vault-Token") != TOKEN:
                    self._answer(403, {"errors": ["permission denied"]})
                    return
                status, payload = stand_in.route(method, self.path, body)
                self._answer(status, payload)

            def _answer(self, status: int, payload: dict[str, Any] | None) -> None:
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> TransitStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        parts = path.split("?")[0].strip("/").split("/")  # v1 / mount / op / name [/ rotate]
        if len(parts) < 4 or parts[0] != "v1":
            return 404, {"errors": []}
        op, name = parts[2], parts[3]
        self.calls.append(f"{method} {op}{'/' + parts[4] if len(parts) > 4 else ''}")
        if op == "keys" and len(parts) == 4:
            if method == "POST":
                self.keys.setdefault(name, [AESGCM.generate_key(bit_length=256)])
                self.min_decryption_version.setdefault(name, 1)
                return 204, None
            if name not in self.keys:
                return 404, {"errors": []}
            versions = self.keys[name]
            return 200, {
                "data": {
                    "name": name,
                    "type": "aes256-gcm96",
                    "latest_version": len(versions),
                    "min_decryption_version": self.min_decryption_version[name],
                    "keys": {str(v): 1700000000 for v in range(1, len(versions) + 1)},
                }
            }
        if op == "encrypt":  # as in Vault: encrypt creates a missing key (upsert)
            self.keys.setdefault(name, [AESGCM.generate_key(bit_length=256)])
            self.min_decryption_version.setdefault(name, 1)
        if name not in self.keys:
            return 400, {"errors": [f"encryption key not found: {name}"]}
        if op == "keys" and parts[4:] == ["rotate"]:
            self.keys[name].append(AESGCM.generate_key(bit_length=256))
            return 204, None
        aad = base64.b64decode(body.get("associated_data") or "")
        if op == "encrypt":
            version = int(body.get("key_version") or len(self.keys[name]))
            nonce = os.urandom(12)
            sealed = AESGCM(self.keys[name][version - 1]).encrypt(
                nonce, base64.b64decode(body["plaintext"]), aad
            )
            text = f"vault:v{version}:" + base64.b64encode(nonce + sealed).decode()
            return 200, {"data": {"ciphertext": text, "key_version": version}}
        if op == "decrypt":
            _, version_text, data = str(body["ciphertext"]).split(":", 2)
            version = int(version_text.removeprefix("v"))
            if not self.min_decryption_version[name] <= version <= len(self.keys[name]):
                return 400, {"errors": ["invalid key version"]}
            raw = base64.b64decode(data)
            try:
                plain = AESGCM(self.keys[name][version - 1]).decrypt(raw[:12], raw[12:], aad)
            except InvalidTag:
                return 400, {"errors": ["cipher: message authentication failed"]}
            return 200, {"data": {"plaintext": base64.b64encode(plain).decode()}}
        return 404, {"errors": []}
