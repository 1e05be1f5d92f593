"""One settings object, read from `SPREADERS_*` environment variables (nested with `__`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    return Path(base) if base else Path.home() / fallback


class N8nSettings(BaseModel):
    """How the platform installs and runs local n8n processes."""

    version: str = "1.123.81"
    # Where pinned n8n releases are installed; shared by every data dir, CI run and session on the machine.
    install_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "spreaders" / "n8n")
    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free loopback port at first start and keep it
    expression_engine: Literal["legacy", "vm"] = "legacy"
    start_timeout_s: float = 90.0
    request_timeout_s: float = 15.0
    # V8 heap of instances recorded before tiers sized them; new instances take theirs from the tier.
    memory_limit_mb: int = 1024


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8765
    public_url: str = ""  # defaults to http://host:port; used for connect links

    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


class PlannerSettings(BaseModel):
    """Which model, if any, refines the offline plan. Prompts go to the configured endpoint."""

    backend: Literal["offline", "llm"] = "offline"
    llm_base_url: str = ""  # an OpenAI-compatible API root, e.g. https://api.openai.com/v1
    llm_model: str = ""
    llm_api_key: SecretStr | None = None  # sent as a bearer token; never logged
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)  # on timeouts, connection errors, 429 and 5xx
    llm_retry_backoff_s: float = Field(default=0.5, ge=0)  # first wait between retries, then doubling
    llm_max_tokens: int = Field(default=2_000, ge=100)
    # Over MCP: ask the client's own model (sampling) and ask the user for missing facts (elicitation)
    # when the client declares the capability.
    mcp_sampling: bool = True
    mcp_sampling_timeout_s: float = Field(default=120.0, gt=0)  # people may have to approve each request
    mcp_elicitation: bool = True

    @model_validator(mode="after")
    def _llm_needs_an_endpoint(self) -> PlannerSettings:
        if self.llm_base_url and not self.llm_base_url.startswith(("http://", "https://")):
            raise ValueError("planner.llm_base_url must be an http(s) URL")
        if self.backend == "llm" and not self.llm_configured:
            raise ValueError(
                "SPREADERS_PLANNER__BACKEND=llm needs SPREADERS_PLANNER__LLM_BASE_URL and "
                "SPREADERS_PLANNER__LLM_MODEL"
            )
        return self

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


class MonitorSettings(BaseModel):
    """How the execution monitor runs (`SPREADERS_MONITOR__*`)."""

    enabled: bool = True
    interval_s: float = Field(default=5.0, gt=0)
    # A run still `new` without an n8n id after this long was never confirmed by n8n.
    start_grace_s: float = Field(default=60.0, gt=0)
    # Passes in a row a live n8n process may fail its REST check before it counts as dead.
    unresponsive_passes: int = Field(default=3, ge=1)
    restart_dead_instances: bool = True
    # Campaign chains whose runner sent no heartbeat for this long are resumed (finished steps skipped).
    resume_chains: bool = True
    chain_stale_after_s: float = Field(default=60.0, gt=0)
    # First wait before retrying a failed restart; doubles per failure up to the maximum.
    restart_backoff_s: float = Field(default=30.0, gt=0)
    restart_backoff_max_s: float = Field(default=1800.0, gt=0)


class OAuthClientSettings(BaseModel):
    """One OAuth app registered by the operator at a provider; endpoint fields override the catalogue."""

    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None  # None: a public client (PKCE only)
    authorize_url: str = ""
    token_url: str = ""
    revoke_url: str = ""
    scopes: list[str] | None = None  # None: the catalogue's scopes for the asked capabilities
    authorize_params: dict[str, str] | None = None  # None: the catalogue's extra authorize parameters

    @model_validator(mode="after")
    def _urls_are_http(self) -> OAuthClientSettings:
        for name in ("authorize_url", "token_url", "revoke_url"):
            value = getattr(self, name)
            if value and not value.startswith(("http://", "https://")):
                raise ValueError(f"oauth client {name} must be an http(s) URL, not {value!r}")
        return self


class OAuthSettings(BaseModel):
    """OAuth apps per platform (`SPREADERS_OAUTH__CLIENTS__<PLATFORM>__CLIENT_ID`, ...) and token upkeep."""

    clients: dict[str, OAuthClientSettings] = Field(default_factory=dict)
    # Tokens expiring within this margin are refreshed by the background job and before use.
    refresh_margin_s: float = Field(default=300.0, gt=0)
    # How long the user has between opening the connect page and coming back from the provider.
    state_ttl_s: int = Field(default=600, gt=0, le=3600)
    timeout_s: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _platform_names_are_lowercase(self) -> OAuthSettings:
        # Environment variable names are case-insensitive; platforms in the catalogue are lowercase.
        self.clients = {name.lower(): client for name, client in self.clients.items()}
        return self


class VaultSettings(BaseModel):
    """Where the master keys that seal every secret come from (`SPREADERS_VAULT__*`)."""

    backend: Literal["local", "transit"] = "local"
    # Local key ring as "VERSION:KEY,VERSION:KEY" (urlsafe base64, 32 bytes each); overrides the single
    # SPREADERS_MASTER_KEY and the key file. Empty: SPREADERS_MASTER_KEY, else the key file.
    master_keys: SecretStr | None = None
    # The local version new values are sealed under; empty: the highest configured version.
    current_key_version: int | None = Field(default=None, ge=1)
    # HashiCorp Vault Transit (backend "transit"); the token is never logged.
    transit_url: str = ""
    transit_token: SecretStr | None = None
    transit_key: str = "spreaders"
    transit_mount: str = "transit"
    transit_namespace: str = ""
    transit_timeout_s: float = Field(default=10.0, gt=0)
    # Records re-wrapped per transaction by `spreaders vault rotate`.
    rotation_batch_size: int = Field(default=500, ge=1, le=10_000)

    @model_validator(mode="after")
    def _transit_needs_a_server(self) -> VaultSettings:
        if self.backend == "transit" and not (self.transit_url and self.transit_token):
            raise ValueError(
                "SPREADERS_VAULT__BACKEND=transit needs SPREADERS_VAULT__TRANSIT_URL and "
                "SPREADERS_VAULT__TRANSIT_TOKEN"
            )
        return self


class ProvisioningSettings(BaseModel):
    """Where tenants' n8n instances run (`SPREADERS_PROVISIONING__*`)."""

    backend: Literal["local", "kubernetes"] = "local"
    # Stop a local instance after this many minutes without a run (the next run wakes it); 0: never.
    idle_stop_minutes: int = Field(default=0, ge=0)


class PoolSettings(BaseModel):
    """The free tier's shared n8n pool, on either backend (`SPREADERS_POOL__*`, docs/provisioning.md)."""

    # Tenants (n8n member users) one shared n8n process serves.
    tenants_per_instance: int = Field(default=8, ge=1, le=200)
    # Member users kept created, keyed and unclaimed, so a new free tenant only claims one.
    warm_seats: int = Field(default=2, ge=0, le=50)
    # The V8 heap of a local shared process: the sum of its tenants' needs, not the per-tenant share
    # (on Kubernetes a pool pod's heap is 75 % of its memory limit, the free tier's times its seats).
    memory_limit_mb: int = Field(default=1536, ge=256)
    # A shared instance none of whose tenants ran anything for this long is stopped (0: never).
    idle_stop_minutes: float = Field(default=0.0, ge=0)
    # Tenants' expressions share the process: isolated-vm's sandbox, not the faster legacy one
    # (~100 ms a run more here, docs/n8n.md), whatever SPREADERS_N8N__EXPRESSION_ENGINE says.
    expression_engine: Literal["legacy", "vm"] = "vm"


class KubernetesSettings(BaseModel):
    """How the Kubernetes backend lays out tenants' n8n (`SPREADERS_KUBERNETES__*`, docs/kubernetes.md)."""

    kubeconfig: Path | None = None  # None: the pod's service account (the platform runs in the cluster)
    context: str = ""  # a kubeconfig context; empty: the current one
    image: str = "docker.n8n.io/n8nio/n8n"  # tagged with n8n.version
    namespace_prefix: str = Field(
        default="spreaders-", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?-?$", max_length=20
    )
    pool_namespace: str = Field(default="spreaders-pool", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    # Public host names: `<namespace>.<domain>` per tenant; empty: no Ingress is made.
    ingress_domain: str = ""
    ingress_class: str = ""
    # A cert-manager ClusterIssuer that signs each Ingress's certificate; empty: plain http.
    cluster_issuer: str = ""
    storage_class: str = ""  # empty: the cluster's default StorageClass
    ready_timeout_s: float = Field(default=300.0, gt=0)
    poll_interval_s: float = Field(default=2.0, gt=0)
    # How the platform reaches an instance's n8n, with `{namespace}` and `{name}` filled in; empty: the
    # Service's cluster DNS name (the platform runs in the cluster). Outside it, e.g. `kubectl proxy`:
    # http://127.0.0.1:8001/api/v1/namespaces/{namespace}/services/{name}:80/proxy
    service_url: str = ""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPREADERS_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "spreaders")
    database_url: str = ""  # empty: a SQLite file inside data_dir
    # Master key version 1 for secrets at rest (32 bytes, urlsafe base64). Empty: the key file (one
    # VERSION:KEY line per version), created only while nothing is sealed. See VaultSettings for key rings.
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    n8n: N8nSettings = Field(default_factory=N8nSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    planner: PlannerSettings = Field(default_factory=PlannerSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    provisioning: ProvisioningSettings = Field(default_factory=ProvisioningSettings)
    pool: PoolSettings = Field(default_factory=PoolSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    log_level: str = "WARNING"

    @model_validator(mode="after")
    def _fill_derived_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser()
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'spreaders.db'}"
        if self.master_key_file is None:
            self.master_key_file = self.data_dir / "master.key"
        if self.database_url.startswith("postgresql://"):
            self.database_url = "postgresql+asyncpg://" + self.database_url.removeprefix("postgresql://")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
