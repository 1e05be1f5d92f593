"""A planner pinned to a fixed reference time (Thursday 2026-03-05 10:00 in Berlin)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from spreaders.planner.schemas import CampaignPlan
from spreaders.planner.service import analyze_prompt

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture
def plan() -> Callable[[str], Awaitable[CampaignPlan]]:
    async def _plan(prompt: str) -> CampaignPlan:
        return await analyze_prompt(prompt, now=NOW, tz="Europe/Berlin")

    return _plan
