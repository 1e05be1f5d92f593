"""Who is calling over HTTP: a Spreaders API key presented as `Authorization: Bearer spr_...`.

The SDK's bearer middleware asks `ApiKeyVerifier` about every request; a valid key becomes an
`AccessToken` carrying the tenant and user, which the SDK keeps in a contextvar that reaches tool calls
(`get_access_token()`). A missing or unknown key never reaches a tool: the SDK answers 401.
API keys are minted by this server for this server, so the lookup is also the audience check.
"""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import Unauthorized

_TENANT = "spreaders_tenant_id"


class ApiKeyVerifier:
    """`TokenVerifier` for Spreaders API keys."""

    def __init__(self, get_app: Callable[[], AppContext]) -> None:
        self._get_app = get_app

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            async with self._get_app().unit_of_work() as session:
                principal = await accounts.authenticate_api_key(session, key=token)
        except Unauthorized:
            return None
        return AccessToken(
            token=token,
            client_id=principal.user_id,
            subject=principal.user_id,
            scopes=sorted(principal.scopes),
            claims={_TENANT: principal.tenant_id},
        )


def token_principal(_app: AppContext) -> Principal:
    """The principal of the API key that authenticated the current HTTP request."""
    token = get_access_token()
    if token is None or token.subject is None or not token.claims or _TENANT not in token.claims:
        raise Unauthorized(
            "This request carries no Spreaders API key.", hint="Send `Authorization: Bearer spr_...`."
        )
    return Principal(
        tenant_id=str(token.claims[_TENANT]), user_id=token.subject, scopes=frozenset(token.scopes)
    )
