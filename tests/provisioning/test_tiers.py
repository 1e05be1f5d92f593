"""Tiers as data: the original design's resource table, quotas, and the conversions backends use."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from spreaders.errors import Invalid
from spreaders.provisioning.tiers import TIERS, Quotas, Resources, get_tier, parse_quantity


def test_resource_table_is_the_original_designs() -> None:
    table = {name: tier.resources.model_dump() for name, tier in TIERS.items()}

    assert table == {
        "free": {"cpu_request": "100m", "cpu_limit": "250m", "memory_request": "256Mi",
                 "memory_limit": "512Mi", "storage": "5Gi"},
        "pro": {"cpu_request": "250m", "cpu_limit": "1000m", "memory_request": "512Mi",
                "memory_limit": "2Gi", "storage": "20Gi"},
        "enterprise": {"cpu_request": "1000m", "cpu_limit": "4000m", "memory_request": "2Gi",
                       "memory_limit": "8Gi", "storage": "100Gi"},
    }  # fmt: skip
    assert [name for name, tier in TIERS.items() if tier.dedicated] == ["pro", "enterprise"]


def test_quotas_grow_with_the_tier() -> None:
    free, pro, enterprise = (TIERS[name].quotas for name in ("free", "pro", "enterprise"))

    for field in ("workflows", "executions_per_day", "concurrent_runs"):
        assert getattr(free, field) < getattr(pro, field) < getattr(enterprise, field)


def test_quantities_parse_as_cores_and_bytes() -> None:
    assert parse_quantity("250m") == Decimal("0.25")
    assert parse_quantity("4") == 4
    assert parse_quantity("512Mi") == 512 * 2**20
    assert parse_quantity("1G") == 10**9


def test_node_heap_leaves_a_quarter_of_the_memory_limit_to_the_task_runner() -> None:
    assert TIERS["free"].resources.node_heap_mb == 384
    assert TIERS["pro"].resources.node_heap_mb == 1536
    assert TIERS["enterprise"].resources.memory_limit_mib == 8192


def test_pool_instance_resources_are_the_free_share_times_its_tenants() -> None:
    pooled = TIERS["free"].resources.times(8)

    assert pooled.as_kubernetes() == {
        "requests": {"cpu": "800m", "memory": "2048Mi"},
        "limits": {"cpu": "2000m", "memory": "4096Mi"},
    }
    assert pooled.storage == "40Gi"


def test_bad_quantities_limits_and_quotas_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="not a Kubernetes quantity"):
        Resources(cpu_request="lots", cpu_limit="1", memory_request="1Gi", memory_limit="2Gi", storage="5Gi")
    with pytest.raises(ValidationError, match="memory_request 4Gi exceeds memory_limit 2Gi"):
        Resources(cpu_request="1", cpu_limit="1", memory_request="4Gi", memory_limit="2Gi", storage="5Gi")
    with pytest.raises(ValidationError, match="greater than 0"):
        Quotas(workflows=0, executions_per_day=1, concurrent_runs=1)


def test_unknown_tier_names_the_tiers_that_exist() -> None:
    assert get_tier("pro") is TIERS["pro"]
    with pytest.raises(Invalid) as caught:
        get_tier("platinum")
    assert caught.value.hint == "Use one of: free, pro, enterprise."
