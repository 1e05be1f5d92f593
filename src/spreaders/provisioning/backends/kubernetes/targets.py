"""Where each instance goes in the cluster, from the settings: a dedicated tenant or a pool slot."""

from __future__ import annotations

from spreaders.errors import Invalid
from spreaders.provisioning.backends.kubernetes.manifests import InstanceTarget, dns_label, tenant_namespace
from spreaders.provisioning.tiers import TIERS, Tier
from spreaders.settings import KubernetesSettings, Settings


def reach_url(kube: KubernetesSettings, target: InstanceTarget) -> str:
    """The URL the platform uses for the instance's n8n (bootstrap, API calls)."""
    if not kube.service_url:
        return target.service_url
    return kube.service_url.format(namespace=target.namespace, name=target.name).rstrip("/")


def _host(settings: Settings, label: str) -> str:
    domain = settings.kubernetes.ingress_domain
    return f"{label}.{domain}" if domain else ""


def dedicated_target(
    settings: Settings, *, tenant_id: str, instance_id: str, tier: Tier, embedded: bool = False
) -> InstanceTarget:
    """The namespace and objects of a tenant's own instance (`embedded`: the embedded mode's only
    tenant, which has its own instance whatever its tier)."""
    if not tier.dedicated and not embedded:
        raise Invalid(
            f"The {tier.name} tier has no dedicated instance.",
            hint="Free tenants share the pool: use pool_target(); pro and enterprise get their own.",
        )
    kube = settings.kubernetes
    namespace = tenant_namespace(kube.namespace_prefix, tenant_id)
    return InstanceTarget(
        namespace=namespace,
        name="n8n",
        instance_id=instance_id,
        tier=tier,
        resources=tier.resources,
        image=kube.image,
        n8n_version=settings.n8n.version,
        expression_engine=settings.n8n.expression_engine,
        public_host=_host(settings, namespace),
        ingress_class=kube.ingress_class,
        cluster_issuer=kube.cluster_issuer,
        storage_class=kube.storage_class,
        tenant_id=tenant_id,
    )


def pool_name(instance_id: str) -> str:
    """The base name of a shared pool instance's objects, derived from its record's id."""
    return dns_label("n8n-pool", instance_id.rsplit("_", 1)[-1][:12])


def pool_target(settings: Settings, *, instance_id: str, capacity: int) -> InstanceTarget:
    """A shared free-pool instance in the pool's namespace, sized for `capacity` tenants (the free
    tier's requests and limits times its seats, volume included)."""
    kube = settings.kubernetes
    free = TIERS["free"]
    name = pool_name(instance_id)
    return InstanceTarget(
        namespace=kube.pool_namespace,
        name=name,
        instance_id=instance_id,
        tier=free,
        resources=free.resources.times(capacity),
        image=kube.image,
        n8n_version=settings.n8n.version,
        expression_engine=settings.pool.expression_engine,
        public_host=_host(settings, dns_label(kube.pool_namespace, name.removeprefix("n8n-pool-"))),
        ingress_class=kube.ingress_class,
        cluster_issuer=kube.cluster_issuer,
        storage_class=kube.storage_class,
    )
