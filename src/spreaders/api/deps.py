"""FastAPI dependencies in one place: the app context, a unit of work, the calling principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import Forbidden, Unauthorized, Unavailable

_bearer = HTTPBearer(auto_error=False, description="Spreaders API key (spr_...) as a bearer token.")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Spreaders API key (spr_...).")


def get_ctx(request: Request) -> AppContext:
    """Return the application context the app was started with (`app.state.ctx`)."""
    ctx = getattr(request.app.state, "ctx", None)
    if not isinstance(ctx, AppContext):
        raise Unavailable("The application context is not set on app.state.ctx.")
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


async def get_session(ctx: Ctx) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the route returns without an error."""
    async with ctx.unit_of_work() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


async def get_principal(
    ctx: Ctx,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_api_key_header)],
) -> Principal:
    key = bearer.credentials if bearer else header_key
    if not key:
        raise Unauthorized(
            "An API key is required.",
            hint="Send `Authorization: Bearer spr_...`; create a key with `spreaders keys create`.",
        )
    async with ctx.unit_of_work() as session:
        return await accounts.authenticate_api_key(session, key=key)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(scope: str) -> Any:
    """Dependency that refuses principals whose key lacks `scope`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(f"This API key lacks the {scope!r} scope.")
        return principal

    return Depends(check)
