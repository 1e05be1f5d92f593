"""The provider catalogue: which platforms can be connected, how, and which n8n credentials they feed.

The data lives in `providers.json` beside this module; it is read and validated on first use.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from spreaders.errors import Invalid

ProviderKind = Literal["api_key", "oauth2", "basic"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class ProviderField(BaseModel):
    """One value the user types on the connect page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_FIELD_NAME.pattern, max_length=60)
    label: str = Field(min_length=1)
    secret: bool
    required: bool = True
    placeholder: str = ""


class Provider(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str = Field(pattern=_NAME.pattern, max_length=60)
    display_name: str = Field(min_length=1)
    kind: ProviderKind
    help: str = ""
    fields: tuple[ProviderField, ...] = ()
    n8n_credential_types: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Provider:
        if self.kind == "oauth2" and self.fields:
            raise ValueError(f"{self.platform}: oauth2 providers take no typed fields")
        if self.kind != "oauth2" and not any(f.required for f in self.fields):
            raise ValueError(f"{self.platform}: {self.kind} providers need at least one required field")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.platform}: duplicate field names {names}")
        return self


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    providers: tuple[Provider, ...]

    @model_validator(mode="after")
    def _platforms_unique(self) -> Catalogue:
        names = [p.platform for p in self.providers]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate platforms in the catalogue: {names}")
        return self

    def platforms(self, *, kind: ProviderKind | None = None) -> list[str]:
        return sorted(p.platform for p in self.providers if kind is None or p.kind == kind)

    def platforms_by_n8n_type(self) -> dict[str, str]:
        """Map each n8n credential type to the platform whose connection provides it."""
        return {cred_type: p.platform for p in self.providers for cred_type in p.n8n_credential_types}

    def get(self, platform: str) -> Provider:
        """Return the provider for `platform` or raise Invalid naming the known platforms."""
        for provider in self.providers:
            if provider.platform == platform:
                return provider
        raise Invalid(
            f"Unknown platform {platform!r}.",
            hint=f"Known platforms: {', '.join(self.platforms())}.",
        )


@functools.cache
def load_catalogue() -> Catalogue:
    """Read and validate the bundled `providers.json` (once per process)."""
    text = resources.files("spreaders.vault").joinpath("providers.json").read_text(encoding="utf-8")
    return Catalogue.model_validate_json(text)
