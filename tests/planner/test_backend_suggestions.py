"""The offline improvement rules, on plans built by hand so the extractor's changes cannot move them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from spreaders.planner.sampling import SamplingBackend
from spreaders.planner.schemas import Audience, Budget, CampaignPlan, Provenance, Timeline
from spreaders.planner.service import suggest_improvements
from spreaders.planner.suggestions import suggest_offline

EMPTY = CampaignPlan(
    name="Spring sale",
    campaign_type="seasonal_sale",
    objectives=["drive_sales"],
    platforms=[],
    content_requirements=[],
    timeline=Timeline(),
    budget=Budget(),
    target_audience=Audience(),
    required_workflows=[],
    confidence=0.15,
    missing=[],
    provenance=Provenance(backend="offline"),
)
FULL = EMPTY.model_copy(
    update={
        "platforms": ["instagram", "tiktok", "email"],
        "content_requirements": [
            "images",
            "videos",
            "copy",
            "reels",
            "email_copy",
            "ad_creatives",
            "landing_page",
        ],
        "timeline": Timeline(start=date(2026, 3, 9), end=date(2026, 3, 22), duration_days=14),
        "budget": Budget(amount=2000, currency="EUR", split={"instagram": 1200, "tiktok": 800}),
        "target_audience": Audience(age_min=18, age_max=30, locations=["Berlin"], interests=["running"]),
    }
)


def _plan(**changes: Any) -> CampaignPlan:
    return FULL.model_copy(update=changes)


def _field_exists(plan: CampaignPlan, path: str) -> bool:
    value: Any = plan.model_dump()
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def test_empty_plan_gets_channels_timing_budget_content_and_audience_first() -> None:
    found = suggest_offline(EMPTY)

    assert [s.kind for s in found] == ["channels", "timing", "budget", "content", "audience"]
    assert "Instagram and email" in found[0].text
    assert "about 7 days" in found[1].text


@pytest.mark.parametrize("plan", [EMPTY, FULL, _plan(platforms=["email"]), _plan(campaign_type="event")])
def test_there_are_always_three_to_five_suggestions_each_naming_a_real_plan_field(plan: CampaignPlan) -> None:
    found = suggest_offline(plan)

    assert 3 <= len(found) <= 5
    assert all(_field_exists(plan, s.field) for s in found), [s.field for s in found]
    assert len({s.text for s in found}) == len(found)


def test_sale_without_email_is_told_to_add_email() -> None:
    [first, *_] = suggest_offline(_plan(platforms=["instagram", "tiktok"]))

    assert (first.kind, first.field) == ("channels", "platforms")
    assert first.text.startswith("Add email")


def test_budget_without_split_is_split_evenly_across_paid_channels() -> None:
    found = suggest_offline(_plan(budget=Budget(amount=2000, currency="EUR")))

    [budget] = [s for s in found if s.kind == "budget"]
    assert budget.field == "budget.split"
    assert "instagram 1000, tiktok 1000 EUR" in budget.text


def test_split_above_the_total_is_flagged() -> None:
    found = suggest_offline(_plan(budget=Budget(amount=1000, currency="EUR", split={"instagram": 1200})))

    [budget] = [s for s in found if s.kind == "budget"]
    assert "adds up to 1200 EUR, more than the total of 1000" in budget.text


def test_budget_without_currency_asks_for_it() -> None:
    found = suggest_offline(_plan(budget=Budget(amount=500)))

    assert any(s.field == "budget.currency" for s in found)


def test_paid_social_without_ad_creatives_is_told_to_add_them() -> None:
    content = ["images", "videos", "copy", "reels", "email_copy"]

    found = suggest_offline(_plan(content_requirements=content))

    assert any(s.kind == "content" and s.text.startswith("Add ad creatives") for s in found)


def test_instagram_without_reels_is_told_to_add_reels() -> None:
    found = suggest_offline(_plan(content_requirements=["images", "copy", "ad_creatives"]))

    assert any(s.text.startswith("Add reels") for s in found)


def test_open_ended_timeline_gets_a_concrete_end_date() -> None:
    found = suggest_offline(_plan(timeline=Timeline(start=date(2026, 3, 9))))

    [timing] = [s for s in found if s.kind == "timing"]
    assert timing.field == "timeline.end"
    assert "2026-03-15" in timing.text  # a seasonal sale runs about 7 days


def test_scheduled_event_gets_reminders() -> None:
    found = suggest_offline(_plan(campaign_type="event"))

    assert any("reminders 7 days, 1 day and 1 hour" in s.text for s in found)


def test_audience_without_interests_is_told_to_add_some() -> None:
    found = suggest_offline(_plan(target_audience=Audience(age_min=18, locations=["Berlin"])))

    assert any(s.field == "target_audience.interests" for s in found)


def test_complete_plan_is_padded_with_general_advice() -> None:
    found = suggest_offline(FULL)

    assert len(found) == 3
    assert found[0].kind == "objectives" and "measurable target" in found[0].text


async def test_suggestions_without_a_backend_are_the_offline_rules() -> None:
    found = await suggest_improvements(EMPTY)

    assert found.provenance.backend == "offline"
    assert found.suggestions == suggest_offline(EMPTY)


async def test_two_model_suggestions_are_completed_with_offline_rules() -> None:
    async def sampler(system: str, user: str) -> str:
        return (
            '{"suggestions": [{"kind": "channels", "text": "Add Pinterest.", "field": "platforms"},'
            ' {"kind": "budget", "text": "Spend 60% on Instagram.", "field": "budget.split"}]}'
        )

    found = await suggest_improvements(EMPTY, backend=SamplingBackend(sampler))

    assert found.provenance.backend == "sampling"
    assert found.provenance.notes == ["completed with offline suggestions"]
    assert [s.kind for s in found.suggestions] == ["channels", "budget", "timing"]
