"""Vault fixtures: the real OAuth provider (oidc-provider) and a connected credential of it."""

from __future__ import annotations

from ..support.oauth_provider import connected_oauth_credential, oauth_ctx, oauth_provider

__all__ = ["connected_oauth_credential", "oauth_ctx", "oauth_provider"]
