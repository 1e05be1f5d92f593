from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from spreaders.planner.schemas import CampaignPlan

Plan = Callable[[str], Awaitable[CampaignPlan]]


@pytest.mark.parametrize(
    ("prompt", "platforms"),
    [
        ("post it on IG", ["instagram"]),
        ("share on insta", ["instagram"]),
        ("post on X", ["twitter"]),
        ("on X and LinkedIn", ["twitter", "linkedin"]),
        ("Instagram, X and TikTok", ["instagram", "twitter", "tiktok"]),
        ("tweet the news", ["twitter"]),
        ("send an email blast", ["email"]),
        ("mention it in the newsletter", ["email"]),
        ("write to our mailing list", ["email"]),
        ("send an e-mail", ["email"]),
        ("post it on FB", ["facebook"]),
        ("run google ads", ["google_ads"]),
        ("move the adwords budget", ["google_ads"]),
        ("run meta ads", ["facebook_ads"]),
        ("run Facebook ads and post on Facebook", ["facebook_ads", "facebook"]),
        ("YouTube, Pinterest, WhatsApp and Reddit", ["youtube", "pinterest", "whatsapp", "reddit"]),
        ("text messages and Telegram", ["sms", "telegram"]),
    ],
)
async def test_platform_aliases_normalise_to_one_name(plan: Plan, prompt: str, platforms: list[str]) -> None:
    assert (await plan(prompt)).platforms == platforms


async def test_single_letter_x_outside_platform_context_is_not_twitter(plan: Plan) -> None:
    result = await plan("launch Product X and more on Instagram")
    assert result.platforms == ["instagram"]


async def test_lowercase_x_is_never_twitter(plan: Plan) -> None:
    assert (await plan("post on x")).platforms == []


async def test_negated_platform_is_left_out_and_noted(plan: Plan) -> None:
    result = await plan("tweet about it on Sunday, not on TikTok")
    assert result.platforms == ["twitter"]
    assert any("tiktok" in note for note in result.provenance.notes)


async def test_platform_words_inside_other_words_are_ignored(plan: Plan) -> None:
    assert (await plan("a big instant promotion for the fbi fans")).platforms == []


async def test_tiktok_implies_videos_and_video_generation(plan: Plan) -> None:
    result = await plan("promo on TikTok")
    assert "videos" in result.content_requirements
    assert "content_generation_video" in result.required_workflows


async def test_reels_imply_videos(plan: Plan) -> None:
    result = await plan("three reels for our cafe on Instagram")
    assert {"reels", "videos", "images"} <= set(result.content_requirements)
