"""An in-memory stand-in for the Kubernetes API server: no API server can run on these machines.

It serves just what the Kubernetes backend calls (create, read, merge-patch and delete of Namespaces,
Secrets, ConfigMaps, PersistentVolumeClaims, Services, Deployments and Ingresses) with the API server's
answers for the cases the backend relies on: 409 AlreadyExists, 404 NotFound (also for objects in a
missing namespace), `metadata.generation` bumped on a spec change, a volume claim that may only grow,
an immutable Deployment selector, a bearer token required. There is no scheduler or kubelet: a test
flips a Deployment's readiness with `set_ready`, as the kubelet would after the readiness probe passed.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from spreaders.provisioning.tiers import parse_quantity

TOKEN = "stand-in-token"
_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[a-z0-9.]+/v1))"
    r"(?:/namespaces/(?P<namespace>[^/]+))?"
    r"(?:/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?)?/?$"
)
_KINDS = {
    "namespaces": "Namespace",
    "secrets": "Secret",
    "configmaps": "ConfigMap",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "services": "Service",
    "deployments": "Deployment",
    "ingresses": "Ingress",
}


@dataclass
class Request:
    method: str
    path: str
    content_type: str
    body: dict[str, Any] | None


@dataclass
class Store:
    # (plural, namespace or "", name) -> object
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    server: KubeApiStandIn.Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        content_type = self.headers.get("Content-Type", "")
        store = self.server.store
        with store.lock:
            store.requests.append(Request(self.command, self.path.split("?")[0], content_type, body))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            match = _PATH.match(self.path.split("?")[0])
            if match is None or (match["plural"] or "namespaces") not in _KINDS:
                return self._send(404, _status(404, "NotFound", f"no route {self.path}"))
            code, answer = _dispatch(store, self.command, match, content_type, body)
        self._send(code, answer)

    do_GET = do_POST = do_PATCH = do_DELETE = _handle


def _dispatch(
    store: Store, method: str, match: re.Match[str], content_type: str, body: dict[str, Any] | None
) -> tuple[int, dict[str, Any]]:
    plural, namespace, name = match["plural"], match["namespace"] or "", match["name"]
    if plural is None:  # /api/v1/namespaces/{name}
        plural, name, namespace = "namespaces", namespace, ""
    kind = _KINDS[plural]
    if namespace and ("namespaces", "", namespace) not in store.objects:
        return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found')
    if method == "POST":
        assert body is not None
        name = body["metadata"]["name"]
    key = (plural, namespace, name or "")
    current = store.objects.get(key)
    if method == "POST":
        assert body is not None
        if current is not None:
            return 409, _status(409, "AlreadyExists", f'{plural} "{name}" already exists')
        created = copy.deepcopy(body)
        created["metadata"].update(uid=str(uuid.uuid4()), resourceVersion="1", generation=1)
        created["metadata"]["creationTimestamp"] = "2026-11-26T00:00:00Z"
        if kind == "Deployment":
            created["status"] = {"observedGeneration": 1, "replicas": 1, "unavailableReplicas": 1}
        store.objects[key] = created
        return 201, created
    if current is None:
        return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
    if method == "GET":
        return 200, current
    if method == "DELETE":
        if kind == "Namespace":
            for other in [k for k in store.objects if k[1] == name]:
                del store.objects[other]
        del store.objects[key]
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if content_type != "application/merge-patch+json":
        return 415, _status(
            415, "UnsupportedMediaType", f"this stand-in takes merge patches, not {content_type}"
        )
    assert body is not None
    return _patch(store, key, kind, current, body)


def _patch(
    store: Store, key: tuple[str, str, str], kind: str, current: dict[str, Any], body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    updated = merge_patch(current, body)
    if kind == "PersistentVolumeClaim":
        before = parse_quantity(current["spec"]["resources"]["requests"]["storage"])
        after = parse_quantity(updated["spec"]["resources"]["requests"]["storage"])
        if after < before:
            return 422, _status(
                422,
                "Invalid",
                "spec.resources.requests.storage: Forbidden: field can not be less than previous value",
            )
    if kind == "Deployment":
        if updated["spec"]["selector"] != current["spec"]["selector"]:
            return 422, _status(422, "Invalid", "spec.selector: Invalid value: field is immutable")
        if updated["spec"] != current["spec"]:
            # A new revision: the kubelet has to start and probe a new pod before it is ready again.
            generation = current["metadata"]["generation"] + 1
            updated["metadata"]["generation"] = generation
            updated["status"] = {"observedGeneration": generation, "replicas": 1, "unavailableReplicas": 1}
    updated["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) + 1)
    store.objects[key] = updated
    return 200, updated


class KubeApiStandIn:
    """The stand-in on a loopback port, for `with` blocks; `url` is its API root."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        store: Store

    def __init__(self) -> None:
        self._server = self.Server(("127.0.0.1", 0), _Handler)
        self._server.store = Store()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def store(self) -> Store:
        return self._server.store

    def kubeconfig(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "stand-in", "cluster": {"server": self.url}}],
            "users": [{"name": "platform", "user": {"token": TOKEN}}],
            "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "platform"}}],
            "current-context": "stand-in",
        }

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.store.lock:
            found = self.store.objects.get((plural, namespace, name))
            return copy.deepcopy(found)

    def set_ready(self, namespace: str, name: str) -> None:
        """Report the Deployment's current revision as rolled out with one ready pod."""
        with self.store.lock:
            deployment = self.store.objects[("deployments", namespace, name)]
            generation = deployment["metadata"]["generation"]
            deployment["status"] = {
                "observedGeneration": generation,
                "replicas": 1,
                "updatedReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}],
            }

    def sent(self, method: str) -> list[Request]:
        with self.store.lock:
            return [request for request in self.store.requests if request.method == method]

    def __enter__(self) -> KubeApiStandIn:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
