"""deploy/helm/spreaders, rendered offline by Helm's own Go SDK (the `helm-python-sdk` wheel, Helm
v4) and every object validated against the official schemas (kubernetes-validate --strict, Kubernetes
1.30 and 1.37). Only rendered and schema-checked: no cluster installs it here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from pydantic import BaseModel

from spreaders.settings import Settings

from ..provisioning.kube_schemas import validate_strict

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "spreaders"
REQUIRED = {
    "masterKey": "bWFzdGVyLWtleS1mb3ItdGVzdHMtb25seS0zMi1ieXRlcw==",
    "postgresql": {"password": "pg-Pass_1"},
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name="spreaders", namespace="platform")
    return [doc for text in files.values() for doc in yaml.safe_load_all(text) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _is_setting(name: str) -> bool:
    """Whether SPREADERS_A__B names a field of the settings (nested sections use `__`)."""
    model: type[BaseModel] = Settings
    parts = name.removeprefix("SPREADERS_").lower().split("__")
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if index < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


@pytest.mark.parametrize(
    "values",
    [
        REQUIRED,
        {
            **REQUIRED,
            "ingress": {"clusterIssuer": "letsencrypt", "className": "nginx"},
            "rbac": {"create": False},
        },
        {"existingSecret": "mine", "postgresql": {"enabled": False}, "redis": {"enabled": False}},
    ],
    ids=["defaults", "tls-no-rbac", "external-datastores"],
)
def test_every_rendered_object_validates_strictly_against_the_official_schemas(
    values: dict[str, Any],
) -> None:
    objects = render(values)

    for manifest in objects:
        validate_strict(manifest)
    assert {"Deployment", "Service", "ConfigMap"} <= {o["kind"] for o in objects}


def test_chart_runs_serve_worker_postgresql_and_redis_as_non_root() -> None:
    objects = render(REQUIRED)
    workloads = by_kind(objects, "Deployment") + by_kind(objects, "StatefulSet")

    assert sorted(o["metadata"]["name"] for o in workloads) == [
        "spreaders-postgresql", "spreaders-redis", "spreaders-serve", "spreaders-worker"
    ]  # fmt: skip
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert all(c["securityContext"]["readOnlyRootFilesystem"] for c in pod["containers"])
    serve = next(o for o in workloads if o["metadata"]["name"] == "spreaders-serve")
    assert serve["spec"]["template"]["spec"]["containers"][0]["args"] == ["serve"]
    assert by_kind(objects, "Ingress")[0]["spec"]["rules"][0]["host"] == "spreaders.example.com"


def test_every_configured_variable_is_a_spreaders_setting() -> None:
    objects = render(REQUIRED)
    config = by_kind(objects, "ConfigMap")[0]["data"]
    secret = by_kind(objects, "Secret")[0]["stringData"]
    names = [*config, *[name for name in secret if name.startswith("SPREADERS_")]]

    assert [name for name in names if not _is_setting(name)] == []
    assert config["SPREADERS_PROVISIONING__BACKEND"] == "kubernetes"
    assert (
        secret["SPREADERS_DATABASE_URL"]
        == "postgresql://spreaders:pg-Pass_1@spreaders-postgresql:5432/spreaders"
    )
    assert not _is_setting("SPREADERS_KUBERNETES__NO_SUCH") and not _is_setting("SPREADERS_API__HOST__X")


def test_missing_master_key_or_unsafe_password_fails_the_render_with_what_to_set() -> None:
    with pytest.raises(helm.HelmError, match="masterKey is required"):
        render({"postgresql": {"password": "x"}})
    with pytest.raises(helm.HelmError, match="may hold only letters"):
        render({**REQUIRED, "postgresql": {"password": "p@ss word"}})


def test_existing_secret_replaces_the_charts_secret() -> None:
    objects = render({"existingSecret": "platform-secrets", "postgresql": {"enabled": False}})

    assert by_kind(objects, "Secret") == []
    assert by_kind(objects, "StatefulSet")[0]["metadata"]["name"] == "spreaders-redis"
    serve = next(o for o in by_kind(objects, "Deployment") if o["metadata"]["name"] == "spreaders-serve")
    env_from = serve["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert {"secretRef": {"name": "platform-secrets"}} in env_from


def test_chart_passes_helm_lint() -> None:
    report = helm.lint(str(CHART))

    assert report["errors"] == []
