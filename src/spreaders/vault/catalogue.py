"""The provider catalogue: which platforms can be connected, how, and which n8n credentials they feed.

The data lives in `providers.json` beside this module; it is read and validated on first use. OAuth2
providers carry their endpoints, PKCE support, token lifetime hints and the scopes each planner capability
needs; operators add their app's client id and secret (and may override endpoints) in settings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from spreaders.errors import Invalid
from spreaders.planner.schemas import Capability

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


class OAuthSpec(BaseModel):
    """How a platform speaks OAuth2 (authorization code). Empty endpoints must come from settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    authorize_url: str = ""
    token_url: str = ""
    revoke_url: str = ""  # RFC 7009 revocation; empty where the provider has none
    pkce: bool = True  # send an S256 code challenge (always sent for the custom provider)
    base_scopes: tuple[str, ...] = ()  # asked for every connection
    scopes: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # planner capability -> scopes
    scope_separator: str = " "
    authorize_params: dict[str, str] = Field(default_factory=dict)  # e.g. Google's access_type=offline
    token_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    # The name the provider gives the client id in its requests (TikTok: client_key).
    client_id_param: str = "client_id"
    access_token_lifetime_s: int | None = None  # a hint; the token response's expires_in wins
    refresh_tokens: bool = True  # whether the provider hands out refresh tokens at all
    app_console: str = ""  # where an operator registers the OAuth app

    @model_validator(mode="after")
    def _capabilities_are_known(self) -> OAuthSpec:
        unknown = set(self.scopes) - set(get_args(Capability))
        if unknown:
            raise ValueError(f"scopes name capabilities outside the planner vocabulary: {sorted(unknown)}")
        return self

    def scopes_for(self, capabilities: Iterable[str] | None) -> list[str]:
        """The scopes to ask for: the base ones plus those of `capabilities` (all when None)."""
        wanted = self.scopes if capabilities is None else {c: self.scopes.get(c, ()) for c in capabilities}
        chosen = list(self.base_scopes)
        for scopes in wanted.values():
            chosen += [s for s in scopes if s not in chosen]
        return chosen


class Provider(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str = Field(pattern=_NAME.pattern, max_length=60)
    display_name: str = Field(min_length=1)
    kind: ProviderKind
    help: str = ""
    fields: tuple[ProviderField, ...] = ()
    oauth: OAuthSpec | None = None
    n8n_credential_types: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Provider:
        if self.kind == "oauth2" and self.fields:
            raise ValueError(f"{self.platform}: oauth2 providers take no typed fields")
        if (self.kind == "oauth2") != (self.oauth is not None):
            raise ValueError(f"{self.platform}: oauth2 providers, and only they, need an `oauth` section")
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
