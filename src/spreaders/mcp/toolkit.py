"""What every domain's `tools.py` shares: who is calling, error translation, results, progress.

A tool is ~10 lines: `caller = await env.caller(scope)`, one service call, `return result(model, summary)`.
The decorator `tool(...)` registers it and maps the error tree once: `SpreadersError` becomes the SDK's
`ToolError` (an `isError` result whose text is "<message> <hint>"), anything else is logged with its
traceback here and reaches the agent as a generic message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import Forbidden, NotFound, SpreadersError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

PrincipalResolver = Callable[[AppContext], Principal]
"""Who is calling: the local user over stdio, the API key's owner over HTTP, a fixed principal in tests."""

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True)
RUNS_WORKFLOWS = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)

UNEXPECTED = (
    "The tool failed unexpectedly; the details are in the Spreaders server log. Retry once, then report it."
)


def local_principal(app: AppContext) -> Principal:
    """The embedded mode's local user: whoever can start the stdio server owns the local workspace."""
    return app.local_principal


@dataclass(frozen=True)
class Caller:
    app: AppContext
    principal: Principal


@dataclass(frozen=True)
class ToolEnv:
    """What tools need at call time; the app context is read lazily (HTTP builds tools before startup)."""

    get_app: Callable[[], AppContext]
    resolve_principal: PrincipalResolver = local_principal

    def caller(self, scope: str) -> Caller:
        """Resolve the calling principal and check that it holds `scope`."""
        app = self.get_app()
        principal = self.resolve_principal(app)
        if not principal.allows(scope):
            raise Forbidden(
                f"This API key lacks the {scope!r} scope.", hint="Use a key created with that scope."
            )
        return Caller(app=app, principal=principal)


def result(model: BaseModel, summary: str) -> CallToolResult:
    """A tool result: the model as structuredContent, a one-line summary as text for the agent."""
    return CallToolResult(
        content=[TextContent(type="text", text=summary)],
        structured_content=model.model_dump(mode="json"),
    )


def _translated(name: str, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except SpreadersError as exc:
            raise ToolError(str(exc)) from exc
        except (ToolError, MCPError):
            raise
        except Exception as exc:  # the outermost wrapper of a tool call
            logger.exception("MCP tool %s failed", name)
            raise ToolError(UNEXPECTED) from exc

    return wrapper


def tool(
    server: MCPServer[Any], *, name: str, description: str, annotations: ToolAnnotations
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Register an async function as the tool `name`, with the error tree mapped to tool errors.

    Return `Annotated[CallToolResult, Model]` from the function: the SDK derives the output schema
    from `Model` and checks each structuredContent against it.
    """

    def decorator(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        server.add_tool(_translated(name, fn), name=name, description=description, annotations=annotations)
        return fn

    return decorator


def resource_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Map the error tree for a resource handler: NotFound is "not found", the rest a resource error."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except NotFound as exc:
            raise ResourceNotFoundError(str(exc)) from exc
        except SpreadersError as exc:
            raise ResourceError(str(exc)) from exc

    return wrapper


class ProgressRelay:
    """Forward a service's progress to the MCP caller as progress notifications, in order.

    Provisioning reports through a plain callback (`say`, a `ProgressFn`), runs through an async one
    (`run`, a `RunProgress`); tools add their own start and end. All become notifications whose
    `progress` counts events, so it always increases whatever the service's own numbers are. Sending is
    best effort: a client that went away must not fail the run.
    """

    def __init__(self, ctx: Context[Any, Any]) -> None:
        self._ctx = ctx
        self._count = 0
        self._last: asyncio.Task[None] | None = None

    def say(self, message: str) -> None:
        """`ProgressFn`: queue one notification (the caller is sync, the send is not)."""
        self._count += 1
        self._last = asyncio.get_running_loop().create_task(
            self._send_after(self._last, self._count, message)
        )

    async def run(self, _progress: float, _total: float | None, message: str) -> None:
        """`RunProgress`: send one notification after those already queued."""
        self.say(message)
        await self.flush()

    async def flush(self) -> None:
        """Wait until every queued notification has been handed to the transport."""
        if self._last is not None:
            await self._last

    async def _send_after(self, previous: asyncio.Task[None] | None, progress: int, message: str) -> None:
        if previous is not None:
            await previous
        try:
            await self._ctx.report_progress(progress, None, message)
        except Exception:  # outermost wrapper of a background send; progress is advisory
            logger.warning("Could not send MCP progress %r", message, exc_info=True)
