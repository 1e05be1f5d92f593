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


@pytest.mark.parametrize(
    ("prompt", "platforms"),
    [
        ("instgram post tomorrow", ["instagram"]),
        ("newsleter next tuesday", ["email"]),
        ("Linkdin and Youtbe videos", ["linkedin", "youtube"]),
        ("Bitte Instagramm und Facebok Beiträge", ["instagram", "facebook"]),
        ("pintrest boards and a whatsap broadcast", ["pinterest", "whatsapp"]),
    ],
)
async def test_misspelt_platform_names_are_read_as_the_platform(
    plan: Plan, prompt: str, platforms: list[str]
) -> None:
    result = await plan(prompt)
    assert result.platforms == platforms
    assert any(note.startswith("read ") for note in result.provenance.notes)


async def test_words_near_a_platform_name_with_another_first_letter_stay_words(plan: Plan) -> None:
    assert (await plan("a big interest in twister games and credit")).platforms == []


@pytest.mark.parametrize(
    ("prompt", "platforms"),
    [
        ("Lanza nuestra colección en TikTok y correo", ["tiktok", "email"]),
        ("por correo electrónico y en el boletín", ["email"]),
        ("YouTube-Videos und Instagram-Posts", ["youtube", "instagram"]),
        ("Instagram-Reels und Facebook-Werbung", ["instagram", "facebook_ads"]),
        ("Leads über LinkedIn-Anzeigen", ["linkedin_ads"]),
        ("send a 3-email sequence", ["email"]),
        ("Post on X, Bluesky and Threads", ["twitter", "bluesky", "threads"]),
        ("promote it on Spotify", ["spotify"]),
    ],
)
async def test_german_spanish_and_compound_platform_words_are_recognised(
    plan: Plan, prompt: str, platforms: list[str]
) -> None:
    assert (await plan(prompt)).platforms == platforms


async def test_lowercase_threads_is_not_the_threads_app(plan: Plan) -> None:
    assert (await plan("reply to comment threads on Instagram")).platforms == ["instagram"]


@pytest.mark.parametrize(
    ("prompt", "platforms"),
    [
        ("ads on Instagram and TikTok", ["facebook_ads", "tiktok_ads"]),
        ("anuncios en Instagram y TikTok", ["facebook_ads", "tiktok_ads"]),
        ("Facebook event ads for our concert", ["facebook_ads"]),
        ("Google display ads", ["google_ads"]),
        ("post on Instagram and run ads on TikTok", ["instagram", "tiktok_ads"]),
    ],
)
async def test_ads_on_a_list_of_platforms_become_their_ad_products(
    plan: Plan, prompt: str, platforms: list[str]
) -> None:
    assert (await plan(prompt)).platforms == platforms


async def test_platform_negated_in_german_or_spanish_is_left_out(plan: Plan) -> None:
    assert (await plan("Instagram, aber nicht auf TikTok")).platforms == ["instagram"]
    assert (await plan("Instagram y Facebook, sin TikTok")).platforms == ["instagram", "facebook"]


@pytest.mark.parametrize(
    ("prompt", "campaign_type"),
    [
        ("Christmas campaign for our toy shop", "seasonal_sale"),
        ("Halloween promo for our costume shop", "seasonal_sale"),
        ("Black Friday through Cyber Monday on Instagram", "seasonal_sale"),
        ("Starte unseren Sommer-Sale auf Instagram", "seasonal_sale"),
        ("Rebajas de invierno en Instagram", "seasonal_sale"),
        ("Muttertag: Reels für unseren Blumenladen", "seasonal_sale"),
        ("email a 25% discount code by Black Friday", "promotion"),
        ("New Year's Eve party at our club", "event"),
        ("Lanza nuestra colección en TikTok", "product_launch"),
        ("Neue Kollektion auf Instagram vorstellen", "product_launch"),
        ("Gewinnspiel auf TikTok", "promotion"),
        ("Wir wollen inaktive Kunden zurückgewinnen", "re_engagement"),
        ("Markenbekanntheit steigern", "brand_awareness"),
        ("need more appointments from new patients", "lead_generation"),
        ("Boletín semanal por email con descuentos", "newsletter"),
        ("Share our new case study in our newsletter", "content_marketing"),
        ("Promote our charity 5k run until race day", "event"),
    ],
)
async def test_campaign_type_rules_cover_holidays_deadlines_and_other_languages(
    plan: Plan, prompt: str, campaign_type: str
) -> None:
    assert (await plan(prompt)).campaign_type == campaign_type


async def test_ad_words_without_a_budget_still_ask_for_an_ad_campaign(plan: Plan) -> None:
    assert "ad_campaign" in (await plan("Boost our podcast episodes on YouTube")).required_workflows


async def test_webinar_registrations_are_captured_as_leads(plan: Plan) -> None:
    result = await plan("Promote our webinar on LinkedIn")
    assert {"lead_capture", "crm_sync", "landing_page"} & set(result.required_workflows) == {
        "lead_capture",
        "crm_sync",
    }
    assert "landing_page" in result.content_requirements
