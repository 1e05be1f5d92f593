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
    memory_limit_mb: int = 1024


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8765
    public_url: str = ""  # defaults to http://host:port; used for connect links

    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPREADERS_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "spreaders")
    database_url: str = ""  # empty: a SQLite file inside data_dir
    # Master key for secrets at rest (32 bytes, urlsafe base64). Empty: read or create data_dir/master.key.
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    n8n: N8nSettings = Field(default_factory=N8nSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
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
