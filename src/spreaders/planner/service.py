"""Planner use cases: turn a marketing prompt into a `CampaignPlan`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from spreaders.errors import Invalid
from spreaders.planner.offline import plan_offline
from spreaders.planner.schemas import CampaignPlan

MAX_PROMPT_CHARS: Final = 4_000


def _reference_date(now: datetime | None, tz: str) -> date:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(
            f"Unknown time zone {tz!r}.", hint="Use an IANA zone name such as 'Europe/Berlin' or 'UTC'."
        ) from exc
    if now is None:
        return datetime.now(zone).date()
    # A naive `now` is wall-clock time in `tz`; an aware one is converted to it.
    return (now.replace(tzinfo=zone) if now.tzinfo is None else now.astimezone(zone)).date()


async def analyze_prompt(prompt: str, *, now: datetime | None = None, tz: str = "UTC") -> CampaignPlan:
    """Turn a marketing prompt into a campaign plan, resolving dates against `now` in zone `tz`."""
    if not prompt.strip():
        raise Invalid(
            "The prompt is empty.", hint="Describe the campaign, e.g. what to promote, where and when."
        )
    if len(prompt) > MAX_PROMPT_CHARS:
        raise Invalid(
            f"The prompt has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}.",
            hint="Shorten it to the campaign's essentials: what, where, when, budget, audience.",
        )
    return plan_offline(prompt, today=_reference_date(now, tz))
