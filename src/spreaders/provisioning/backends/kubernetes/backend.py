"""The Kubernetes seam: apply an instance's objects, wait for its pod, read, resize and delete it.

It talks to the API server with the official client's asyncio flavour (`kubernetes.aio`), so nothing
blocks the event loop. Objects are applied create-then-merge-patch, so `provision` is idempotent: a
second call with the same target changes nothing, one with a new tier resizes in place.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes.aio import client, config
from kubernetes.aio.stream import WsApiClient

from spreaders.errors import Invalid, Unavailable, UpstreamError
from spreaders.provisioning.backends.kubernetes import manifests, targets
from spreaders.provisioning.backends.kubernetes.manifests import InstanceSecrets, InstanceTarget, Manifest
from spreaders.provisioning.bootstrap_n8n import bootstrap_owner_and_key
from spreaders.provisioning.tiers import parse_quantity
from spreaders.settings import KubernetesSettings

# Re-applied objects are merged into what the cluster holds: fields the cluster fills in (a Service's
# clusterIP, a claim's volumeName) are left alone, lists we own are replaced as a whole.
MERGE_PATCH = "application/merge-patch+json"

Call = Callable[..., Awaitable[Any]]


# The exec subprotocol's channels (k8s.io/apimachinery remotecommand, v4.channel.k8s.io): each binary
# message starts with its channel; the error channel ends the session with the command's Status.
STDIN, STDOUT, STDERR, ERROR = 0, 1, 2, 3
EXEC_PROTOCOL = "v4.channel.k8s.io"


@dataclass(frozen=True)
class ExecResult:
    """What a command run in an instance's pod wrote and how it ended."""

    exit_code: int
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True)
class ClusterStatus:
    """What the cluster says about one instance."""

    namespace: str
    name: str
    tier: str
    ready: bool
    ready_replicas: int
    storage: str
    image: str
    message: str


class KubernetesBackend:
    """Tenants' n8n instances on one cluster, through an injected API client."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        poll_interval_s: float = 2.0,
        service_url: Callable[[InstanceTarget], str] | None = None,
    ) -> None:
        self._api = api
        self._core = client.CoreV1Api(api)
        self._apps = client.AppsV1Api(api)
        self._networking = client.NetworkingV1Api(api)
        self._poll_interval_s = poll_interval_s
        # How the platform reaches an instance: its Service's cluster DNS name, unless told otherwise
        # (a platform outside the cluster reaches it through a port-forward or proxy).
        self._service_url = service_url or (lambda target: target.service_url)

    @classmethod
    async def connect(cls, settings: KubernetesSettings) -> KubernetesBackend:
        """Build a backend from a kubeconfig, or from the pod's service account inside the cluster."""
        configuration = client.Configuration()
        if settings.kubeconfig is not None:
            await config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(settings.kubeconfig.expanduser()),
                context=settings.context or None,
                client_configuration=configuration,
                persist_config=False,
            )
        else:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return cls(
            client.ApiClient(configuration),
            poll_interval_s=settings.poll_interval_s,
            service_url=lambda target: targets.reach_url(settings, target),
        )

    async def close(self) -> None:
        await self._api.close()  # type: ignore[no-untyped-call]

    def _calls(self, manifest: Manifest) -> tuple[Call, Call, tuple[str, ...]]:
        """The create and patch calls of a manifest's kind, and the leading arguments they take."""
        kind, meta = manifest["kind"], manifest["metadata"]
        core, apps, net = self._core, self._apps, self._networking
        table: dict[str, tuple[Call, Call]] = {
            "Namespace": (core.create_namespace, core.patch_namespace),
            "Secret": (core.create_namespaced_secret, core.patch_namespaced_secret),
            "ConfigMap": (core.create_namespaced_config_map, core.patch_namespaced_config_map),
            "PersistentVolumeClaim": (
                core.create_namespaced_persistent_volume_claim,
                core.patch_namespaced_persistent_volume_claim,
            ),
            "Service": (core.create_namespaced_service, core.patch_namespaced_service),
            "Deployment": (apps.create_namespaced_deployment, apps.patch_namespaced_deployment),
            "Ingress": (net.create_namespaced_ingress, net.patch_namespaced_ingress),
        }
        create, patch = table[kind]
        scope = (meta["namespace"],) if "namespace" in meta else ()
        return create, patch, scope

    async def apply(self, manifest: Manifest) -> str:
        """Create the object, or merge it into the existing one; say which ("created" or "patched")."""
        create, patch, scope = self._calls(manifest)
        name = manifest["metadata"]["name"]
        try:
            await create(*scope, body=manifest)
            return "created"
        except client.ApiException as exc:
            if exc.status != 409:
                raise _upstream(exc, f"creating {manifest['kind']} {name}") from exc
        try:
            await patch(name, *scope, body=manifest, _content_type=MERGE_PATCH)
        except client.ApiException as exc:
            raise _upstream(exc, f"updating {manifest['kind']} {name}") from exc
        return "patched"

    async def provision(self, target: InstanceTarget, values: InstanceSecrets) -> None:
        """Create or update every object of the instance (its namespace first)."""
        await self.apply(
            manifests.namespace(target.namespace, tenant_id=target.tenant_id, tier=target.tier.name)
        )
        for manifest in manifests.instance_objects(target, values):
            await self.apply(manifest)

    async def wait_ready(self, target: InstanceTarget, *, timeout_s: float) -> float:
        """Wait until the current revision's pod passes its REST readiness probe; return seconds waited."""
        started = time.monotonic()
        while True:
            deployment = await self._read_deployment(target)
            if deployment is None:
                raise Unavailable(
                    f"n8n of {target.namespace} has no Deployment.", hint="Provision the instance first."
                )
            if _rolled_out(deployment):
                return time.monotonic() - started
            if time.monotonic() - started > timeout_s:
                raise Unavailable(
                    f"n8n in {target.namespace} was not ready within {timeout_s:.0f}s: "
                    f"{_conditions(deployment) or 'no pod ready yet'}.",
                    hint=f"kubectl -n {target.namespace} describe deployment {target.name}; raise "
                    "SPREADERS_KUBERNETES__READY_TIMEOUT_S if the cluster is slow to pull or schedule.",
                )
            # The API offers a watch, but a poll survives API-server restarts and proxies without care.
            await asyncio.sleep(self._poll_interval_s)

    async def bootstrap(self, target: InstanceTarget, values: InstanceSecrets, *, timeout_s: float) -> str:
        """Create n8n's owner (or log in) and mint the platform's API key, through the Service."""
        return await bootstrap_owner_and_key(
            base_url=self._service_url(target),
            email=owner_email(target),
            password=values.owner_password,
            timeout_s=timeout_s,
        )

    async def status(self, target: InstanceTarget) -> ClusterStatus | None:
        """Read the instance's Deployment and volume claim; None when it was never provisioned."""
        deployment = await self._read_deployment(target)
        if deployment is None:
            return None
        claim = await self._read_claim(target)
        labels = deployment.metadata.labels or {}
        pod = deployment.spec.template.spec
        return ClusterStatus(
            namespace=target.namespace,
            name=target.name,
            tier=labels.get("spreaders.io/tier", ""),
            ready=_rolled_out(deployment),
            ready_replicas=(deployment.status.ready_replicas or 0) if deployment.status else 0,
            storage=_claimed_storage(claim),
            image=pod.containers[0].image or "",
            message=_conditions(deployment),
        )

    async def scale(self, target: InstanceTarget) -> None:
        """Move the instance to `target`'s tier: new requests and limits, heap size and a larger volume.

        A volume claim can only grow (and only where its StorageClass allows expansion); moving to a
        smaller tier keeps the larger volume rather than failing, since shrinking needs a data move.
        """
        claim = await self._read_claim(target)
        if claim is None:
            raise Invalid(
                f"n8n of {target.namespace} has no volume claim to resize.", hint="Provision it first."
            )
        current = _claimed_storage(claim)
        wanted = manifests.persistent_volume_claim(target)
        if current and parse_quantity(current) >= parse_quantity(target.resources.storage):
            wanted["spec"]["resources"]["requests"]["storage"] = current
        await self.apply(wanted)
        await self.apply(manifests.config_map(target))
        await self.apply(manifests.deployment(target))

    async def stop(self, target: InstanceTarget) -> bool:
        """Scale the instance's Deployment to no pod (volume, Secret and Service stay); False if it was
        never provisioned. `provision` scales it back to one replica."""
        try:
            await self._apps.patch_namespaced_deployment(
                target.name, target.namespace, body={"spec": {"replicas": 0}}, _content_type=MERGE_PATCH
            )
        except client.ApiException as exc:
            if exc.status == 404:
                return False
            raise _upstream(exc, f"scaling Deployment {target.namespace}/{target.name} to 0") from exc
        return True

    async def deprovision(self, namespace: str) -> bool:
        """Delete a dedicated tenant's namespace with everything in it; False if it was already gone."""
        try:
            await self._core.delete_namespace(namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                return False
            raise _upstream(exc, f"deleting namespace {namespace}") from exc
        return True

    async def wait_gone(self, namespace: str, *, timeout_s: float) -> None:
        """Wait until a deleted namespace is gone: until then it is `Terminating`, and the API server
        refuses to create it again (409) or anything in it (403)."""
        started = time.monotonic()
        while True:
            try:
                await self._core.read_namespace(namespace)
            except client.ApiException as exc:
                if exc.status == 404:
                    return
                raise _upstream(exc, f"reading namespace {namespace}") from exc
            if time.monotonic() - started > timeout_s:
                raise Unavailable(
                    f"Namespace {namespace} is still being deleted after {timeout_s:.0f}s.",
                    hint=f"kubectl get namespace {namespace} -o yaml (look for finalizers); then retry.",
                )
            await asyncio.sleep(self._poll_interval_s)

    async def ready_pod(self, target: InstanceTarget) -> str:
        """The name of a running, ready pod of the instance's Deployment."""
        selector = ",".join(f"{key}={value}" for key, value in manifests.selector_labels(target).items())
        try:
            pods = await self._core.list_namespaced_pod(target.namespace, label_selector=selector)
        except client.ApiException as exc:
            raise _upstream(exc, f"listing the pods of {target.namespace}/{target.name}") from exc
        for pod in pods.items:
            status, meta = pod.status, pod.metadata
            conditions = (status.conditions or []) if status else []
            ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
            if status and status.phase == "Running" and ready and meta and not meta.deletion_timestamp:
                return str(meta.name)
        raise Unavailable(
            f"n8n in {target.namespace} has no ready pod to run a command in.",
            hint="Wait for it (`spreaders instances show`) or start it with a run, then retry.",
        )

    async def exec(
        self, target: InstanceTarget, command: list[str], *, stdin: bytes = b"", timeout_s: float
    ) -> ExecResult:
        """Run `command` in the instance's n8n container (what `kubectl exec` does), feeding it `stdin`.

        The command cannot see the end of stdin (the v4 exec protocol has no half-close), so a command
        that reads stdin must know how many bytes to read (`head -c N`)."""
        pod = await self.ready_pod(target)
        ws_api = WsApiClient(configuration=self._api.configuration)  # type: ignore[no-untyped-call]
        out, err, status = bytearray(), bytearray(), None
        exec_api = client.CoreV1Api(ws_api)
        try:
            # Without preloading, the websocket client answers aiohttp's connection (typed otherwise).
            connecting: Any = await exec_api.connect_get_namespaced_pod_exec_without_preload_content(
                pod,
                target.namespace,
                command=command,
                container="n8n",
                stdin=bool(stdin),
                stdout=True,
                stderr=True,
                tty=False,
                _headers={"sec-websocket-protocol": EXEC_PROTOCOL},
            )
            async with asyncio.timeout(timeout_s), connecting as ws:
                if stdin:
                    await ws.send_bytes(bytes([STDIN]) + stdin)
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.BINARY or not message.data:
                        continue
                    channel, data = message.data[0], message.data[1:]
                    if channel == STDOUT:
                        out += data
                    elif channel == STDERR:
                        err += data
                    elif channel == ERROR:
                        status = json.loads(data)
        except client.ApiException as exc:
            raise _upstream(exc, f"running a command in pod {target.namespace}/{pod}") from exc
        except aiohttp.WSServerHandshakeError as exc:
            raise UpstreamError(
                f"The Kubernetes API refused running a command in pod {target.namespace}/{pod}: "
                f"{exc.status} {exc.message}.",
                hint="The platform's role needs `create` on pods/exec (docs/kubernetes.md).",
            ) from exc
        except TimeoutError:
            raise Unavailable(
                f"A command in pod {target.namespace}/{pod} did not finish within {timeout_s:.0f}s."
            ) from None
        finally:
            await ws_api.close()  # type: ignore[no-untyped-call]
        return ExecResult(exit_code=_exit_code(status, pod), stdout=bytes(out), stderr=bytes(err))

    async def _read_deployment(self, target: InstanceTarget) -> Any:
        try:
            return await self._apps.read_namespaced_deployment(target.name, target.namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise _upstream(exc, f"reading Deployment {target.namespace}/{target.name}") from exc

    async def _read_claim(self, target: InstanceTarget) -> Any:
        try:
            return await self._core.read_namespaced_persistent_volume_claim(
                f"{target.name}-data", target.namespace
            )
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise _upstream(exc, f"reading the volume claim of {target.namespace}/{target.name}") from exc


def owner_email(target: InstanceTarget) -> str:
    return f"owner+{target.instance_id}@spreaders.local"


def _rolled_out(deployment: Any) -> bool:
    """The Deployment's latest spec is observed, no pod of an older revision is left, one pod is ready."""
    status = deployment.status
    if status is None:
        return False
    updated = status.updated_replicas or 0
    return bool(
        (status.observed_generation or 0) >= (deployment.metadata.generation or 0)
        and updated >= 1
        and (status.replicas or 0) == updated
        and (status.ready_replicas or 0) >= 1
    )


def _conditions(deployment: Any) -> str:
    status = deployment.status
    found = status.conditions if status is not None and status.conditions else []
    return "; ".join(f"{c.type}={c.status}: {c.message or c.reason or ''}".strip() for c in found)


def _claimed_storage(claim: Any) -> str:
    if claim is None:
        return ""
    requests = claim.spec.resources.requests if claim.spec and claim.spec.resources else None
    return str(requests.get("storage", "")) if requests else ""


def _exit_code(status: dict[str, Any] | None, pod: str) -> int:
    """The command's exit code from the error channel's Status (Success, or NonZeroExitCode with the
    code as the ExitCode cause)."""
    if status is None:
        raise UpstreamError(f"The exec session in pod {pod} ended without the command's status.")
    if status.get("status") == "Success":
        return 0
    causes = (status.get("details") or {}).get("causes") or []
    for cause in causes:
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    raise UpstreamError(f"Running a command in pod {pod} failed: {str(status.get('message', ''))[:300]}")


def _upstream(exc: client.ApiException, doing: str) -> UpstreamError:
    # The API server's body can echo the object sent, Secret data included: keep only the reason.
    return UpstreamError(
        f"The Kubernetes API refused {doing}: {exc.status} {exc.reason}.",
        hint="Check the platform's RBAC (docs/kubernetes.md) and the cluster's events.",
    )
