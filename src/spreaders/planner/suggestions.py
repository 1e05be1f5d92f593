"""Offline rules that suggest 3-5 concrete improvements to a campaign plan, most valuable first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Final

from spreaders.planner import vocabulary as v
from spreaders.planner.schemas import CampaignPlan, CampaignType, Suggestion

MIN_SUGGESTIONS: Final = 3
MAX_SUGGESTIONS: Final = 5

_CHANNELS_BY_TYPE: Final[dict[CampaignType, tuple[str, str]]] = {
    "product_launch": ("Instagram", "email"),
    "promotion": ("Instagram", "email"),
    "seasonal_sale": ("Instagram", "email"),
    "brand_awareness": ("Instagram", "TikTok"),
    "content_marketing": ("a blog", "LinkedIn"),
    "event": ("LinkedIn", "email"),
    "webinar": ("LinkedIn", "email"),
    "lead_generation": ("LinkedIn", "Google Ads"),
    "re_engagement": ("email", "SMS"),
    "newsletter": ("email", "LinkedIn"),
    "general": ("Instagram", "email"),
}
_TYPICAL_DAYS: Final[dict[CampaignType, int]] = {
    "product_launch": 14,
    "promotion": 7,
    "seasonal_sale": 7,
    "event": 21,
    "webinar": 14,
    "lead_generation": 30,
    "brand_awareness": 30,
    "content_marketing": 30,
    "re_engagement": 14,
    "newsletter": 30,
    "general": 14,
}
_EMAIL_TYPES: Final[frozenset[CampaignType]] = frozenset(
    {"product_launch", "promotion", "seasonal_sale", "event", "webinar", "re_engagement", "lead_generation"}
)
_CONVERTING: Final = frozenset({"drive_sales", "generate_leads", "drive_registrations", "grow_subscribers"})
_NOT_PAID: Final = frozenset({"blog", "slack", "discord", "telegram", "whatsapp"})
_PAID_REACH: Final = (v.SOCIAL_PLATFORMS | v.AD_PLATFORMS) - _NOT_PAID

Rule = Callable[[CampaignPlan], Suggestion | None]


def _label(campaign_type: CampaignType) -> str:
    return v.TYPE_LABELS[campaign_type] if campaign_type != "general" else "campaign"


def _channels(plan: CampaignPlan) -> Suggestion | None:
    first, second = _CHANNELS_BY_TYPE[plan.campaign_type]
    if not plan.platforms:
        return Suggestion(
            kind="channels",
            field="platforms",
            text=f"Choose the channels: a {_label(plan.campaign_type)} usually works best on {first} and "
            f"{second}; without channels no publishing workflow can be chosen.",
        )
    if "email" not in plan.platforms and plan.campaign_type in _EMAIL_TYPES:
        return Suggestion(
            kind="channels",
            field="platforms",
            text="Add email: send a teaser to your subscribers a few days before the start and a reminder "
            "on the last day; email usually converts better than social posts.",
        )
    if not set(plan.platforms) & v.SOCIAL_PLATFORMS:
        return Suggestion(
            kind="channels",
            field="platforms",
            text=f"Add a social channel such as {first if first != 'email' else 'Instagram'} to reach people "
            "who are not on your list yet.",
        )
    return None


def _timing(plan: CampaignPlan) -> Suggestion | None:
    days = _TYPICAL_DAYS[plan.campaign_type]
    timeline = plan.timeline
    if timeline.start is None:
        return Suggestion(
            kind="timing",
            field="timeline.start",
            text=f"Set a start date with at least a week of lead time for content, and a duration: a "
            f"{_label(plan.campaign_type)} typically runs about {days} days.",
        )
    if timeline.end is None and timeline.duration_days is None:
        return Suggestion(
            kind="timing",
            field="timeline.end",
            text=f"Set an end date: a {_label(plan.campaign_type)} typically runs about {days} days, so "
            f"consider ending it around {timeline.start + timedelta(days=days - 1)}.",
        )
    if plan.campaign_type in {"event", "webinar"}:
        return Suggestion(
            kind="timing",
            field="timeline",
            text="Schedule reminders 7 days, 1 day and 1 hour before the session; most registrations and "
            "attendance come from the last reminders.",
        )
    return None


def _budget(plan: CampaignPlan) -> Suggestion | None:
    budget = plan.budget
    if budget.amount is None:
        return Suggestion(
            kind="budget",
            field="budget.amount",
            text="State a budget and its currency, even a small one: paid boosts of the best posts "
            "usually reach far more people than organic posts alone.",
        )
    if budget.currency is None:
        return Suggestion(
            kind="budget",
            field="budget.currency",
            text=f"Say which currency the budget of {budget.amount:g} is in.",
        )
    if budget.split and sum(budget.split.values()) > budget.amount + 0.005:
        return Suggestion(
            kind="budget",
            field="budget.split",
            text=f"The per-channel split adds up to {sum(budget.split.values()):g} {budget.currency}, more "
            f"than the total of {budget.amount:g}; lower one of the shares.",
        )
    paid = [p for p in plan.platforms if p in _PAID_REACH]
    if not budget.split and len(paid) >= 2:
        share = round(budget.amount / len(paid), 2)
        parts = ", ".join(f"{p} {share:g}" for p in paid)
        return Suggestion(
            kind="budget",
            field="budget.split",
            text=f"Split the budget across channels ({parts} {budget.currency}), then move money to the "
            "channel with the lowest cost per result after the first few days.",
        )
    return None


def _content(plan: CampaignPlan) -> Suggestion | None:
    content = set(plan.content_requirements)
    if plan.budget.amount and "ad_creatives" not in content and set(plan.platforms) & _PAID_REACH:
        return Suggestion(
            kind="content",
            field="content_requirements",
            text="Add ad creatives: the budget will go to paid placements, which need their own formats "
            "(e.g. 1080x1080 and 1080x1920 images with a short headline).",
        )
    if "instagram" in plan.platforms and "reels" not in content:
        return Suggestion(
            kind="content",
            field="content_requirements",
            text="Add reels for Instagram: short vertical videos (15-30 s) currently reach more "
            "non-followers than image posts.",
        )
    if set(plan.objectives) & _CONVERTING and "landing_page" not in content:
        return Suggestion(
            kind="content",
            field="content_requirements",
            text="Add a landing page with one clear call to action, so clicks from every channel convert "
            "in the same place and can be measured.",
        )
    return None


def _audience(plan: CampaignPlan) -> Suggestion | None:
    audience = plan.target_audience
    if not (
        audience.age_min or audience.age_max or audience.locations or audience.interests or audience.segments
    ):
        return Suggestion(
            kind="audience",
            field="target_audience",
            text="Describe who should see the campaign (age range, locations, interests); ad targeting and "
            "the tone of the copy both depend on it.",
        )
    if not audience.interests:
        return Suggestion(
            kind="audience",
            field="target_audience.interests",
            text="Add two or three interests of the audience (e.g. hobbies or brands they follow) to narrow "
            "paid targeting and make the copy more specific.",
        )
    if not audience.locations:
        return Suggestion(
            kind="audience",
            field="target_audience.locations",
            text="Name the countries or cities to reach; it sets the posting times and keeps ad spend local.",
        )
    return None


def _fillers(plan: CampaignPlan) -> list[Suggestion]:
    objective = plan.objectives[0] if plan.objectives else "grow_awareness"
    return [
        Suggestion(
            kind="objectives",
            field="objectives",
            text=f"Give {objective.replace('_', ' ')} a measurable target and a date (e.g. '300 "
            "sign-ups by the end of the campaign'), so the results can be judged.",
        ),
        Suggestion(
            kind="content",
            field="content_requirements",
            text="Prepare two versions of the main message and compare them in the first days; keep the one "
            "with the better click rate.",
        ),
        Suggestion(
            kind="channels",
            field="platforms",
            text="Plan a follow-up for people who engaged but did not act (a retargeting ad or a second "
            "email a few days later).",
        ),
    ]


_RULES: Final[tuple[Rule, ...]] = (_channels, _timing, _budget, _content, _audience)


def suggest_offline(plan: CampaignPlan) -> list[Suggestion]:
    """Return 3-5 suggestions from fixed rules: channels, timing, budget, content, audience."""
    found = [s for rule in _RULES if (s := rule(plan)) is not None]
    for filler in _fillers(plan):
        if len(found) >= MIN_SUGGESTIONS:
            break
        found.append(filler)
    return found[:MAX_SUGGESTIONS]
