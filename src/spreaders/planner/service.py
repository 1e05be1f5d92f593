"""Planner use cases: turn a marketing prompt into a `CampaignPlan`, and suggest how to improve one.

Every plan starts offline (deterministic, no I/O). A model backend (`llm`, `sampling`) then gets that
draft to correct; its answer is checked and merged, and on any failure the offline draft is returned
with the reason in `provenance.notes` ("llm failed: ...").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import ValidationError

from spreaders.errors import Invalid
from spreaders.planner import prompting
from spreaders.planner import vocabulary as v
from spreaders.planner.llm import LlmBackend
from spreaders.planner.offline import confidence, plan_offline, required_workflows
from spreaders.planner.prompting import ModelFailed, ModelPlan, ModelRequest, PlannerBackend
from spreaders.planner.schemas import (
    Audience,
    Budget,
    CampaignPlan,
    ContentType,
    ImprovementSuggestions,
    MissingFact,
    Provenance,
    Timeline,
)
from spreaders.planner.suggestions import MAX_SUGGESTIONS, MIN_SUGGESTIONS, suggest_offline
from spreaders.settings import PlannerSettings

logger = logging.getLogger(__name__)

MAX_PROMPT_CHARS: Final = 4_000
MAX_ANSWER_CHARS: Final = 300

# Missing facts that can be asked back (MCP elicitation) and how an answer joins the prompt.
ASKABLE: Final[dict[str, str]] = {
    "platforms": "Channels",
    "timeline": "Timing",
    "budget": "Budget",
    "target_audience": "Audience",
}
_CURRENCY: Final = re.compile(r"^[A-Z]{3}$")
_COMPARED: Final = (
    "name",
    "campaign_type",
    "objectives",
    "platforms",
    "content_requirements",
    "timeline",
    "budget",
    "target_audience",
)


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


def _check_prompt(prompt: str) -> None:
    if not prompt.strip():
        raise Invalid(
            "The prompt is empty.", hint="Describe the campaign, e.g. what to promote, where and when."
        )
    if len(prompt) > MAX_PROMPT_CHARS:
        raise Invalid(
            f"The prompt has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}.",
            hint="Shorten it to the campaign's essentials: what, where, when, budget, audience.",
        )


def with_answers(prompt: str, answers: Mapping[str, str] | None) -> str:
    """The prompt followed by the user's answers to missing facts ("Timing: next Monday.")."""
    lines = [
        f"{ASKABLE[field]}: {text.strip()[:MAX_ANSWER_CHARS].rstrip('.')}."
        for field, text in (answers or {}).items()
        if field in ASKABLE and text.strip()
    ]
    return "\n".join([prompt.rstrip(), *lines]) if lines else prompt


def askable_missing(plan: CampaignPlan) -> list[MissingFact]:
    """The plan's missing facts that a person can answer in one short text field each."""
    return [fact for fact in plan.missing if fact.field in ASKABLE]


def _draft(
    prompt: str, *, now: datetime | None, tz: str, answers: Mapping[str, str] | None
) -> tuple[str, date, CampaignPlan]:
    _check_prompt(prompt)
    today = _reference_date(now, tz)
    text = with_answers(prompt, answers)
    draft = plan_offline(text, today=today)
    given = [field for field, answer in (answers or {}).items() if field in ASKABLE and answer.strip()]
    if given:
        draft.provenance.notes.append(f"completed with the user's answers for {', '.join(given)}")
    return text, today, draft


def plan_request(
    prompt: str, *, now: datetime | None = None, tz: str = "UTC", answers: Mapping[str, str] | None = None
) -> ModelRequest:
    """The exact request a model backend gets for this prompt (MCP asks it ahead of the tool body)."""
    text, today, draft = _draft(prompt, now=now, tz=tz, answers=answers)
    return prompting.plan_request(text, draft=draft, today=today, tz=tz)


async def analyze_prompt(
    prompt: str,
    *,
    now: datetime | None = None,
    tz: str = "UTC",
    backend: PlannerBackend | None = None,
    answers: Mapping[str, str] | None = None,
) -> CampaignPlan:
    """Turn a marketing prompt into a campaign plan, resolving dates against `now` in zone `tz`.

    Offline by default; with a `backend`, the model corrects the offline draft and any failure falls
    back to that draft with the reason in `provenance.notes`. `answers` (missing fact -> the user's
    words) are appended to the prompt before planning.
    """
    text, today, draft = _draft(prompt, now=now, tz=tz, answers=answers)
    if backend is None:
        return draft
    try:
        answer = await backend.complete(prompting.plan_request(text, draft=draft, today=today, tz=tz))
        facts, raw_timeline = prompting.parse_plan(answer)
        return _merge(draft, facts, raw_timeline, today=today, backend=backend.name)
    except ModelFailed as exc:
        logger.warning("Planner backend %s failed, using the offline plan: %s", backend.name, exc)
        return draft.model_copy(
            update={
                "provenance": Provenance(
                    backend="offline", notes=[*draft.provenance.notes, f"{backend.name} failed: {exc}"]
                )
            }
        )


def suggestion_request(plan: CampaignPlan) -> ModelRequest:
    """The exact request a model backend gets when asked to improve `plan`."""
    return prompting.suggest_request(plan, suggest_offline(plan))


async def suggest_improvements(
    plan: CampaignPlan, *, backend: PlannerBackend | None = None
) -> ImprovementSuggestions:
    """Suggest 3-5 concrete improvements: offline rules, or a model's (falling back to the rules)."""
    rules = suggest_offline(plan)
    if backend is None:
        return ImprovementSuggestions(suggestions=rules, provenance=Provenance(backend="offline"))
    try:
        answer = await backend.complete(prompting.suggest_request(plan, rules))
        found = prompting.parse_suggestions(answer)
    except ModelFailed as exc:
        logger.warning("Planner backend %s failed, using the offline suggestions: %s", backend.name, exc)
        fallback = Provenance(backend="offline", notes=[f"{backend.name} failed: {exc}"])
        return ImprovementSuggestions(suggestions=rules, provenance=fallback)
    notes: list[str] = []
    if len(found) < MIN_SUGGESTIONS:
        kinds = {s.kind for s in found}
        found += [s for s in rules if s.kind not in kinds][: MIN_SUGGESTIONS - len(found)]
        notes.append("completed with offline suggestions")
    return ImprovementSuggestions(
        suggestions=found[:MAX_SUGGESTIONS], provenance=Provenance(backend=backend.name, notes=notes)
    )


def select_backend(
    settings: PlannerSettings, http: httpx.AsyncClient, choice: Literal["offline", "llm"] | None = None
) -> PlannerBackend | None:
    """The backend for `choice` (default: the configured one); None means offline."""
    wanted = choice or settings.backend
    if wanted == "offline":
        return None
    if not settings.llm_configured:
        raise Invalid(
            "The llm planner backend is not configured.",
            hint="Set SPREADERS_PLANNER__LLM_BASE_URL and SPREADERS_PLANNER__LLM_MODEL, "
            "or use the offline backend.",
        )
    return LlmBackend(settings=settings, http=http)


def _platforms(names: list[str]) -> tuple[list[str], list[str]]:
    known: list[str] = []
    dropped: list[str] = []
    for name in names:
        canonical = prompting.normalise_platform(name)
        if canonical is None:
            dropped.append(name)
        elif canonical not in known:
            known.append(canonical)
    return known, dropped


def _timeline(draft: Timeline, raw: dict[str, object] | None, today: date) -> tuple[Timeline, str | None]:
    """The model's timeline when it is sound, else the offline one and why."""
    if raw is None:
        return draft, None
    try:
        timeline = Timeline.model_validate(raw)
    except ValidationError as exc:
        return draft, f"kept the offline dates: the model's timeline is invalid ({prompting.describe(exc)})"
    if timeline.start and timeline.end and timeline.end < timeline.start:
        return draft, "kept the offline dates: the model's timeline ends before it starts"
    if timeline.start and timeline.start < today and not (draft.start and draft.start < today):
        return draft, f"kept the offline dates: the model's start {timeline.start} is before {today}"
    if timeline.start and timeline.end:
        timeline.duration_days = (timeline.end - timeline.start).days + 1
    elif timeline.start and timeline.duration_days and not timeline.end:
        timeline.end = timeline.start + timedelta(days=timeline.duration_days - 1)
    if not timeline.text:
        timeline.text = draft.text
    return timeline, None


def _budget(draft: Budget, answer: Budget | None, notes: list[str]) -> Budget:
    if answer is None:
        return draft
    currency = (answer.currency or "").upper() or None
    if currency is not None and not _CURRENCY.match(currency):
        notes.append(f"ignored the model's currency {answer.currency!r}")
        currency = draft.currency
    split: dict[str, float] = {}
    for name, amount in answer.split.items():
        canonical = prompting.normalise_platform(name)
        if canonical is None:
            notes.append(f"dropped the budget share for unknown platform {name!r}")
        else:
            split[canonical] = split.get(canonical, 0.0) + amount
    return Budget(amount=answer.amount, currency=currency, split=split)


def _content(
    answer: list[ContentType] | None, draft: list[ContentType], platforms: list[str]
) -> list[ContentType]:
    wanted = set(draft if answer is None else answer)
    for platform in platforms:
        wanted.update(v.PLATFORM_CONTENT.get(platform, ()))
    for content in list(wanted):
        wanted.update(v.CONTENT_IMPLIES.get(content, ()))
    if platforms:
        wanted.add("copy")
    return [c for c in v.CONTENT_ORDER if c in wanted]


def _known(plan: CampaignPlan, field: str) -> bool:
    match field:
        case "platforms":
            return bool(plan.platforms)
        case "timeline":
            return plan.timeline.start is not None or plan.timeline.duration_days is not None
        case "budget":
            return plan.budget.amount is not None
        case "budget.currency":
            return plan.budget.currency is not None or plan.budget.amount is None
        case "target_audience":
            return plan.target_audience != Audience()
    return False


def _merge(
    draft: CampaignPlan,
    facts: ModelPlan,
    raw_timeline: dict[str, object] | None,
    *,
    today: date,
    backend: Literal["llm", "sampling"],
) -> CampaignPlan:
    """The draft corrected by the model's facts; workflows, confidence and missing are derived here."""
    notes: list[str] = []
    platforms = draft.platforms
    if facts.platforms is not None:
        platforms, dropped = _platforms(facts.platforms)
        notes += [f"dropped unknown platform {name!r}" for name in dropped]
    objectives = draft.objectives
    if facts.objectives is not None:
        objectives = [o for o in v.OBJECTIVE_ORDER if o in facts.objectives] or draft.objectives
        notes += [f"dropped unknown objective {o!r}" for o in facts.objectives if o not in v.OBJECTIVE_ORDER]
    timeline, timeline_note = _timeline(draft.timeline, raw_timeline, today)
    notes += [timeline_note] if timeline_note else []
    budget = _budget(draft.budget, facts.budget, notes)
    campaign_type = facts.campaign_type or draft.campaign_type
    content = _content(facts.content_requirements, draft.content_requirements, platforms)
    budget_for_ads = budget.amount is not None and (
        "ad_campaign" in draft.required_workflows or any(p in v.SOCIAL_PLATFORMS for p in budget.split)
    )
    audience = facts.target_audience or draft.target_audience
    merged = draft.model_copy(
        update={
            "name": facts.name or draft.name,
            "campaign_type": campaign_type,
            "objectives": objectives,
            "platforms": platforms,
            "content_requirements": content,
            "timeline": timeline,
            "budget": budget,
            "target_audience": audience,
            "required_workflows": required_workflows(
                platforms=platforms,
                content=content,
                campaign_type=campaign_type,
                generate_leads_stated="generate_leads" in objectives,
                ads=budget_for_ads,
                scheduled=timeline.start is not None and timeline.start > today,
            ),
        }
    )
    changed = [f for f in _COMPARED if getattr(merged, f) != getattr(draft, f)]
    summary = (
        f"{backend} changed {', '.join(changed)}" if changed else f"{backend} confirmed the offline draft"
    )
    evidenced = {
        "platforms": bool(platforms),
        "campaign_type": campaign_type != "general",
        "timeline": _known(merged, "timeline"),
        "budget": budget.amount is not None,
        "target_audience": audience != Audience(),
        "objectives": bool(objectives),
        "content_requirements": bool(content),
    }
    try:
        return CampaignPlan.model_validate(
            {
                **merged.model_dump(),
                "confidence": confidence(evidenced),
                "missing": [m.model_dump() for m in draft.missing if not _known(merged, m.field)],
                "provenance": {"backend": backend, "notes": [summary, *notes]},
            }
        )
    except ValidationError as exc:
        raise ModelFailed(f"the merged plan is invalid: {prompting.describe(exc)}") from exc
