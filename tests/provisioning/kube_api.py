"""An in-memory stand-in for the Kubernetes API server: no API server can run on these machines.

It serves just what the Kubernetes backend calls (create, read, merge-patch and delete of Namespaces,
Secrets, ConfigMaps, PersistentVolumeClaims, Services, Deployments and Ingresses; listing pods by label;
`pods/exec`) with the API server's answers for the cases the backend relies on: 409 AlreadyExists, 404
NotFound (also for objects in a missing namespace), `metadata.resourceVersion` bumped on every write
and `metadata.generation` on a spec change, a volume claim that may only grow, an immutable Deployment
selector, a bearer token required, a deleted namespace that stays `Terminating` for a while (403 on
new content in it, 409 on creating it again). There is no scheduler or kubelet: a test flips a
Deployment's readiness with `set_ready`, as the kubelet would after the readiness probe passed; a
ready Deployment shows one Running, Ready pod.

`pods/exec` speaks the real websocket subprotocol (v4.channel.k8s.io: channel-prefixed binary frames,
the command's Status on channel 3). Having no container runtime, it runs the command as a local
process with the environment `exec_runner` gives for the pod's Deployment.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import re
import struct
import subprocess
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from spreaders.provisioning.tiers import parse_quantity

TOKEN = "stand-in-token"
_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[a-z0-9.]+/v1))"
    r"(?:/namespaces/(?P<namespace>[^/]+))?"
    r"(?:/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?)?/?$"
)
_EXEC = re.compile(r"^/api/v1/namespaces/(?P<namespace>[^/]+)/pods/(?P<pod>[^/]+)/exec$")
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Reads of a deleted namespace that still find it Terminating (its finalizers running) before it is gone.
TERMINATING_READS = 1

# (namespace, Deployment name, command) -> the environment to run the command with, as a local process.
ExecRunner = Callable[[str, str, list[str]], Mapping[str, str]]
_KINDS = {
    "namespaces": "Namespace",
    "secrets": "Secret",
    "configmaps": "ConfigMap",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "services": "Service",
    "deployments": "Deployment",
    "ingresses": "Ingress",
    "pods": "Pod",
}


@dataclass
class Request:
    method: str
    path: str
    content_type: str
    body: dict[str, Any] | None
    params: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Store:
    # (plural, namespace or "", name) -> object
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    terminating: dict[str, int] = field(default_factory=dict)  # namespace -> reads left
    exec_runner: ExecRunner | None = None
    versions: int = 1  # the cluster-wide resourceVersion counter

    def next_version(self) -> str:
        self.versions += 1
        return str(self.versions)


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
        path, _, query = self.path.partition("?")
        params = parse_qs(query)
        with store.lock:
            store.requests.append(Request(self.command, path, content_type, body, params))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            execing = _EXEC.match(path)
            if execing is not None:
                found = _exec_target(store, execing["namespace"], execing["pod"])
                if isinstance(found, tuple):
                    return self._send(*found)
            else:
                match = _PATH.match(path)
                if match is None or (match["plural"] or "namespaces") not in _KINDS:
                    return self._send(404, _status(404, "NotFound", f"no route {self.path}"))
                code, answer = _dispatch(store, self.command, match, content_type, body, params)
        if execing is None:
            return self._send(code, answer)
        # Outside the lock: the command runs as long as it runs.
        self._exec(execing["namespace"], found, params.get("command", []))

    def _exec(self, namespace: str, deployment: str, command: list[str]) -> None:
        if self.headers.get("Upgrade", "").lower() != "websocket":
            return self._send(400, _status(400, "BadRequest", "Upgrade request required"))
        runner = self.server.store.exec_runner
        if runner is None:
            return self._send(500, _status(500, "InternalError", "the stand-in has no container runtime"))
        accept = base64.b64encode(
            hashlib.sha1((self.headers["Sec-WebSocket-Key"] + _WS_GUID).encode()).digest()
        )
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.send_header("Sec-WebSocket-Protocol", "v4.channel.k8s.io")
        self.end_headers()
        env = dict(runner(namespace, deployment, command))
        child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert child.stdin is not None
        pump = threading.Thread(target=self._pump_stdin, args=(child.stdin,), daemon=True)
        pump.start()
        out, err = _drain(child)
        for channel, data in ((1, out), (2, err)):
            if data:
                self._frame(0x2, bytes([channel]) + data)
        code = child.returncode
        status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        if code != 0:
            status = {
                "metadata": {},
                "status": "Failure",
                "message": f"command terminated with non-zero exit code: exit code {code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
            }
        self._frame(0x2, bytes([3]) + json.dumps(status).encode())
        self._frame(0x8, struct.pack("!H", 1000))
        pump.join(timeout=5)
        self.close_connection = True

    def _frame(self, opcode: int, payload: bytes) -> None:
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 2**16:
            head = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        self.wfile.write(head + payload)
        self.wfile.flush()

    def _read_frame(self) -> tuple[int, bytes] | None:
        head = self.rfile.read(2)
        if len(head) < 2:
            return None
        opcode, size = head[0] & 0x0F, head[1] & 0x7F
        if size == 126:
            size = struct.unpack("!H", self.rfile.read(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self.rfile.read(8))[0]
        mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
        data = self.rfile.read(size)
        return opcode, bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))

    def _pump_stdin(self, stdin: Any) -> None:
        """Feed channel-0 frames to the command until the client closes the session."""
        while (frame := self._read_frame()) is not None:
            opcode, data = frame
            if opcode == 0x8:
                break
            if opcode == 0x2 and data[:1] == b"\0":
                with contextlib.suppress(BrokenPipeError, ValueError):  # the command stopped reading
                    stdin.write(data[1:])
                    stdin.flush()
        with contextlib.suppress(BrokenPipeError, ValueError):
            stdin.close()

    do_GET = do_POST = do_PATCH = do_DELETE = _handle


def _drain(child: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Read a command's stdout and stderr to the end (both at once: either may fill its pipe)."""
    assert child.stdout is not None and child.stderr is not None
    chunks: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda name=name, pipe=pipe: chunks.__setitem__(name, pipe.read()))
        for name, pipe in (("out", child.stdout), ("err", child.stderr))
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    child.stdout.close()
    child.stderr.close()
    child.wait()
    return chunks["out"], chunks["err"]


def _ready_deployments(store: Store, namespace: str) -> list[dict[str, Any]]:
    return [
        found
        for (plural, where, _name), found in store.objects.items()
        if plural == "deployments"
        and where == namespace
        and found["spec"].get("replicas", 1)
        and found.get("status", {}).get("readyReplicas")
    ]


def _pod_name(deployment: dict[str, Any]) -> str:
    # A pod of the Deployment's current revision: the name changes when a new revision rolls out.
    return f"{deployment['metadata']['name']}-{deployment['metadata']['generation']}x7f9c"


def _pods(store: Store, namespace: str, selector: str) -> dict[str, Any]:
    """The pods of ready Deployments matching an equality-based label selector, as a PodList."""
    wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
    items = []
    for deployment in _ready_deployments(store, namespace):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if wanted.items() <= labels.items():
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": _pod_name(deployment), "namespace": namespace, "labels": labels},
                    "status": {
                        "phase": "Running",
                        "conditions": [{"type": "Ready", "status": "True"}],
                    },
                }
            )
    return {
        "apiVersion": "v1",
        "kind": "PodList",
        "metadata": {"resourceVersion": str(store.versions)},
        "items": items,
    }


def _exec_target(store: Store, namespace: str, pod: str) -> str | tuple[int, dict[str, Any]]:
    """The Deployment whose running pod is `pod`, or the API server's refusal."""
    for deployment in _ready_deployments(store, namespace):
        if _pod_name(deployment) == pod:
            return str(deployment["metadata"]["name"])
    return 404, _status(404, "NotFound", f'pods "{pod}" not found')


def _dispatch(
    store: Store,
    method: str,
    match: re.Match[str],
    content_type: str,
    body: dict[str, Any] | None,
    params: dict[str, list[str]],
) -> tuple[int, dict[str, Any]]:
    plural, namespace, name = match["plural"], match["namespace"] or "", match["name"]
    if plural is None:  # /api/v1/namespaces/{name}
        plural, name, namespace = "namespaces", namespace, ""
    kind = _KINDS[plural]
    if kind == "Namespace" and name and name in store.terminating and method == "GET":
        store.terminating[name] -= 1
        if store.terminating[name] < 0:  # its finalizers are done: gone
            del store.terminating[name]
            del store.objects[("namespaces", "", name)]
    if namespace and ("namespaces", "", namespace) not in store.objects:
        return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found')
    if namespace and namespace in store.terminating and method == "POST":
        return 403, _status(
            403,
            "Forbidden",
            f"unable to create new content in namespace {namespace} because it is being terminated",
        )
    if kind == "Pod":
        if method != "GET" or name:
            return 405, _status(405, "MethodNotAllowed", "the stand-in only lists pods")
        return 200, _pods(store, namespace, (params.get("labelSelector") or [""])[0])
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
        created["metadata"].update(uid=str(uuid.uuid4()), resourceVersion=store.next_version(), generation=1)
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
            # Deleting a namespace empties it, but the namespace itself lingers as Terminating.
            for other in [k for k in store.objects if k[1] == name]:
                del store.objects[other]
            current["metadata"].setdefault("deletionTimestamp", "2026-11-26T00:00:01Z")
            current["metadata"]["resourceVersion"] = store.next_version()
            current["status"] = {"phase": "Terminating"}
            store.terminating.setdefault(name or "", TERMINATING_READS)
            return 200, current
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
    updated["metadata"]["resourceVersion"] = store.next_version()
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

    def run_commands_with(self, runner: ExecRunner | None) -> None:
        """Run `pods/exec` commands as local processes with the environment `runner` gives."""
        self.store.exec_runner = runner

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
