from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from spreaders.errors import Invalid
from spreaders.planner.schemas import CampaignPlan
from spreaders.planner.service import MAX_PROMPT_CHARS, analyze_prompt

Plan = Callable[[str], Awaitable[CampaignPlan]]
NOW = datetime(2026, 3, 5, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


SNEAKERS = (
    "launch our spring sneaker drop on Instagram and TikTok next Monday with an email to our list, "
    "$2k budget, for 18-30 year olds in Berlin"
)


async def test_sneaker_drop_prompt_becomes_a_full_product_launch_plan(plan: Plan) -> None:
    result = await plan(SNEAKERS)
    assert result.name == "Spring sneaker drop"
    assert result.campaign_type == "product_launch"
    assert result.platforms == ["instagram", "tiktok", "email"]
    assert result.timeline.start == date(2026, 3, 9)
    assert (result.budget.amount, result.budget.currency) == (2000.0, "USD")
    assert (result.target_audience.age_min, result.target_audience.age_max) == (18, 30)
    assert result.target_audience.locations == ["Berlin"]
    assert result.target_audience.segments == ["subscribers"]
    assert {
        "social_publishing",
        "email_campaign",
        "content_generation_image",
        "content_generation_video",
    } <= set(result.required_workflows)
    assert result.confidence == 1.0
    assert result.missing == []
    assert result.provenance.backend == "offline"


async def test_sneaker_drop_needs_images_videos_copy_and_email_copy(plan: Plan) -> None:
    result = await plan(SNEAKERS)
    assert result.content_requirements == ["images", "videos", "copy", "email_copy", "hashtags"]


async def test_required_workflows_follow_the_capability_vocabulary_order(plan: Plan) -> None:
    result = await plan(SNEAKERS)
    assert result.required_workflows == [
        "content_generation_image",
        "content_generation_video",
        "content_generation_text",
        "social_publishing",
        "email_campaign",
        "analytics_tracking",
        "scheduling",
    ]


async def test_same_prompt_twice_gives_identical_json(plan: Plan) -> None:
    first, second = await plan(SNEAKERS), await plan(SNEAKERS)
    assert first.model_dump_json() == second.model_dump_json()


async def test_plan_round_trips_through_json(plan: Plan) -> None:
    result = await plan(SNEAKERS)
    assert CampaignPlan.model_validate_json(result.model_dump_json()) == result


async def test_vague_prompt_has_low_confidence_and_asks_for_platform_and_date(plan: Plan) -> None:
    result = await plan("help me market my bakery")
    assert result.confidence < 0.3
    assert result.campaign_type == "general"
    assert result.name == "Bakery campaign"
    fields = [fact.field for fact in result.missing]
    assert fields == ["platforms", "timeline", "budget", "target_audience"]
    assert all(fact.question.endswith("?") for fact in result.missing)
    assert result.required_workflows == []


async def test_budget_without_currency_asks_which_currency(plan: Plan) -> None:
    result = await plan("grow leads on LinkedIn ads with a budget of 3000")
    assert result.budget.amount == 3000.0
    assert result.budget.currency is None
    assert "budget.currency" in [fact.field for fact in result.missing]


async def test_lead_generation_needs_lead_capture_crm_sync_and_a_landing_page(plan: Plan) -> None:
    result = await plan("generate leads for our SaaS on LinkedIn ads")
    assert result.campaign_type == "lead_generation"
    assert result.objectives == ["generate_leads"]
    assert {"lead_capture", "crm_sync", "ad_campaign"} <= set(result.required_workflows)
    assert "landing_page" in result.content_requirements


async def test_budget_spent_on_a_social_platform_adds_an_ad_campaign(plan: Plan) -> None:
    result = await plan("$1k on Instagram and $500 on email for our summer promo")
    assert "ad_campaign" in result.required_workflows


async def test_budget_not_meant_for_ads_adds_no_ad_campaign(plan: Plan) -> None:
    result = await plan(SNEAKERS)
    assert "ad_campaign" not in result.required_workflows
    assert any("not tied to ads" in note for note in result.provenance.notes)


async def test_start_today_needs_no_scheduling(plan: Plan) -> None:
    result = await plan("post our promo on Instagram today")
    assert result.timeline.start == date(2026, 3, 5)
    assert "scheduling" not in result.required_workflows


@pytest.mark.parametrize(
    ("prompt", "campaign_type"),
    [
        ("Black Friday sale on Instagram", "seasonal_sale"),
        ("20% off all cakes this weekend", "promotion"),
        ("host a webinar about budgeting for freelancers", "webinar"),
        ("win back lapsed customers by email", "re_engagement"),
        ("promote our pop-up event in Hamburg", "event"),
        ("send our monthly newsletter", "newsletter"),
        ("a series of blog posts about SEO", "content_marketing"),
        ("build brand awareness for our studio", "brand_awareness"),
    ],
)
async def test_campaign_type_comes_from_the_prompts_words(
    plan: Plan, prompt: str, campaign_type: str
) -> None:
    assert (await plan(prompt)).campaign_type == campaign_type


async def test_objectives_combine_stated_words_and_campaign_type(plan: Plan) -> None:
    result = await plan("launch our new app and drive traffic to our website")
    assert result.objectives == ["drive_sales", "grow_awareness", "drive_traffic"]


async def test_interests_come_from_people_nouns_and_fan_phrases(plan: Plan) -> None:
    result = await plan("for runners, sneakerheads and fitness fans on Instagram")
    assert result.target_audience.interests == ["running", "sneakers", "fitness"]


@pytest.mark.parametrize(
    ("prompt", "ages"),
    [
        ("aged 25 to 40", (25, 40)),
        ("for 18-30 year olds", (18, 30)),
        ("for millennials", (30, 45)),
        ("adults over 30", (30, None)),
    ],
)
async def test_age_range_is_read_from_numbers_and_generations(
    plan: Plan, prompt: str, ages: tuple[int, int | None]
) -> None:
    audience = (await plan(prompt)).target_audience
    assert (audience.age_min, audience.age_max) == ages


async def test_several_locations_and_segments_are_kept_in_order(plan: Plan) -> None:
    audience = (
        await plan("reach existing customers and students in New York and Boston in December")
    ).target_audience
    assert audience.locations == ["New York", "Boston"]
    assert audience.segments == ["existing_customers", "students"]


async def test_empty_prompt_is_invalid() -> None:
    with pytest.raises(Invalid) as caught:
        await analyze_prompt("   \n\t", now=NOW)
    assert caught.value.hint


async def test_prompt_over_the_limit_is_invalid() -> None:
    with pytest.raises(Invalid, match="limit"):
        await analyze_prompt("a" * (MAX_PROMPT_CHARS + 1), now=NOW)


async def test_unknown_time_zone_is_invalid() -> None:
    with pytest.raises(Invalid, match="Mars/Olympus"):
        await analyze_prompt("launch on Instagram tomorrow", now=NOW, tz="Mars/Olympus")


async def test_reference_time_is_read_in_the_given_zone() -> None:
    late_evening_utc = datetime(2026, 3, 5, 23, 30, tzinfo=ZoneInfo("UTC"))
    result = await analyze_prompt("post on Instagram tomorrow", now=late_evening_utc, tz="Asia/Tokyo")
    assert result.timeline.start == date(2026, 3, 7)  # already March 6 in Tokyo


async def test_naive_reference_time_is_taken_as_wall_clock_in_the_zone() -> None:
    result = await analyze_prompt(
        "post on Instagram today", now=datetime(2026, 3, 5, 23, 30), tz="Asia/Tokyo"
    )
    assert result.timeline.start == date(2026, 3, 5)


async def test_confidence_adds_the_weights_of_the_evidenced_facts(plan: Plan) -> None:
    # platforms 0.25 + timeline 0.15 + content (implied by a platform) 0.05; no type, budget, audience
    result = await plan("post on X and LinkedIn this Friday")
    assert result.confidence == 0.45
    assert [fact.field for fact in result.missing] == ["budget", "target_audience"]


async def test_name_falls_back_to_the_occasion_noun_phrase(plan: Plan) -> None:
    assert (await plan("Black Friday sale on Instagram")).name == "Black Friday sale"
