"""Service tiers as data: what an n8n instance of each tier may use, and what its tenant may run.

The resource table is the original design's (requests-limits per instance; free is the share of one
tenant on a shared pool instance). Quantities use Kubernetes notation so the same values feed the
Kubernetes manifests and, converted, the local backend (memory limit -> V8 heap size).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from spreaders.errors import Invalid

TierName = Literal["free", "pro", "enterprise"]

_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_FACTORS = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
}
# The V8 heap gets this share of the memory limit: the rest is n8n's JS task runner, native buffers
# and the SQLite page cache, which all count against the same limit.
HEAP_SHARE = Decimal("0.75")


def parse_quantity(value: str) -> Decimal:
    """Return a Kubernetes quantity ("250m", "512Mi", "2Gi") as a plain number (cores or bytes)."""
    match = _QUANTITY.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity such as 250m, 512Mi or 2Gi")
    return Decimal(match.group(1)) * _FACTORS[match.group(2)]


class Resources(BaseModel):
    """Requests and limits of one n8n instance, in Kubernetes quantities."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    storage: str

    @model_validator(mode="after")
    def _requests_fit_limits(self) -> Resources:
        for low, high in (("cpu_request", "cpu_limit"), ("memory_request", "memory_limit")):
            if parse_quantity(getattr(self, low)) > parse_quantity(getattr(self, high)):
                raise ValueError(f"{low} {getattr(self, low)} exceeds {high} {getattr(self, high)}")
        parse_quantity(self.storage)
        return self

    @property
    def memory_limit_mib(self) -> int:
        return int(parse_quantity(self.memory_limit) / 2**20)

    @property
    def node_heap_mb(self) -> int:
        """The `--max-old-space-size` that keeps n8n's heap inside the memory limit."""
        return int(self.memory_limit_mib * HEAP_SHARE)

    def as_kubernetes(self) -> dict[str, dict[str, str]]:
        """The container `resources` block."""
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }

    def times(self, count: int) -> Resources:
        """These resources multiplied by `count` (a pool instance sized for `count` tenants)."""

        def scale(value: str, unit: str, per: Decimal) -> str:
            return f"{int(parse_quantity(value) * count / per)}{unit}"

        mi, gi = Decimal(2**20), Decimal(2**30)
        return Resources(
            cpu_request=scale(self.cpu_request, "m", Decimal("0.001")),
            cpu_limit=scale(self.cpu_limit, "m", Decimal("0.001")),
            memory_request=scale(self.memory_request, "Mi", mi),
            memory_limit=scale(self.memory_limit, "Mi", mi),
            storage=scale(self.storage, "Gi", gi),
        )


class Quotas(BaseModel):
    """What a tenant of the tier may run (reported now; enforced by the provisioning service)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workflows: int = Field(gt=0)
    executions_per_day: int = Field(gt=0)
    concurrent_runs: int = Field(gt=0)


class Tier(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: TierName
    dedicated: bool  # its own instance; otherwise a tenant of the shared pool
    resources: Resources
    quotas: Quotas


TIERS: dict[TierName, Tier] = {
    "free": Tier(
        name="free",
        dedicated=False,
        resources=Resources(
            cpu_request="100m", cpu_limit="250m", memory_request="256Mi", memory_limit="512Mi", storage="5Gi"
        ),
        quotas=Quotas(workflows=20, executions_per_day=1_000, concurrent_runs=2),
    ),
    "pro": Tier(
        name="pro",
        dedicated=True,
        resources=Resources(
            cpu_request="250m", cpu_limit="1000m", memory_request="512Mi", memory_limit="2Gi", storage="20Gi"
        ),
        quotas=Quotas(workflows=200, executions_per_day=20_000, concurrent_runs=10),
    ),
    "enterprise": Tier(
        name="enterprise",
        dedicated=True,
        resources=Resources(
            cpu_request="1000m", cpu_limit="4000m", memory_request="2Gi", memory_limit="8Gi", storage="100Gi"
        ),
        quotas=Quotas(workflows=2_000, executions_per_day=500_000, concurrent_runs=50),
    ),
}


def get_tier(name: str) -> Tier:
    """Return the tier called `name`, or say which tiers exist."""
    for tier in TIERS.values():
        if tier.name == name:
            return tier
    raise Invalid(f"There is no tier {name!r}.", hint=f"Use one of: {', '.join(TIERS)}.")
