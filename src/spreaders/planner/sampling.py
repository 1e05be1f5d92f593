"""The `sampling` backend: the MCP client's own model, reached through an injected sampler.

The planner knows nothing of MCP: the MCP front door passes a `Sampler`, an async callable taking the
system and user messages and returning the model's text (raising `ModelFailed` when the client refuses).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from spreaders.planner.prompting import ModelRequest

Sampler = Callable[[str, str], Awaitable[str]]
"""`(system, user) -> text`: one completion by the client's model."""


@dataclass(frozen=True)
class SamplingBackend:
    """Ask the MCP client's model through `sampler`."""

    sampler: Sampler

    @property
    def name(self) -> Literal["sampling"]:
        return "sampling"

    async def complete(self, request: ModelRequest) -> str:
        """Ask the sampler; the JSON schema travels inside the system prompt's description of the answer."""
        return await self.sampler(request.system, request.user)
