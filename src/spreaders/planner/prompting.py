"""What the planner says to a model and how it reads the answer, shared by every model backend.

A backend (`llm.py` over HTTP, `sampling.py` through the MCP client) only turns a `ModelRequest`
into text; everything else lives here: the system prompts, the JSON schemas the answer must follow,
and the parsing that turns the answer into checked facts or raises `ModelFailed`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spreaders.planner import vocabulary as v
from spreaders.planner.schemas import (
    Audience,
    Budget,
    CampaignPlan,
    CampaignType,
    ContentType,
    Suggestion,
    SuggestionKind,
    Timeline,
)

ModelBackendName = Literal["llm", "sampling"]


class ModelFailed(Exception):
    """A model backend gave no usable answer; the message says why and never holds secrets."""


@dataclass(frozen=True)
class ModelRequest:
    """One question for a model: the system and user messages and the JSON schema of the answer."""

    system: str
    user: str
    schema_name: str
    schema: dict[str, Any]


class PlannerBackend(Protocol):
    """A model that answers a `ModelRequest` with text, raising `ModelFailed` when it cannot."""

    @property
    def name(self) -> ModelBackendName: ...

    async def complete(self, request: ModelRequest) -> str: ...


class ModelPlan(BaseModel):
    """The plan facts a model may set; Spreaders derives workflows, confidence and missing facts."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    campaign_type: CampaignType | None = None
    objectives: list[str] | None = None
    platforms: list[str] | None = None
    content_requirements: list[ContentType] | None = None
    timeline: Timeline | None = None
    budget: Budget | None = None
    target_audience: Audience | None = None


class SuggestionAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    suggestions: list[Suggestion] = Field(min_length=1)


PLATFORMS: Final = tuple(dict.fromkeys(name for _, name in v.PLATFORM_ALIASES))
_ALIASES: Final = tuple((re.compile(pattern, re.IGNORECASE), name) for pattern, name in v.PLATFORM_ALIASES)
_ALIAS_WORDS: Final = tuple(
    (re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.IGNORECASE), name)
    for pattern, name in v.PLATFORM_ALIASES
)
_FENCE: Final = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)

PLAN_SYSTEM: Final = f"""You are the campaign planner of Spreaders, a tool that turns a marketing request \
into automated n8n workflows. Answer with ONE JSON object and nothing else, with these keys:
- name: a short campaign name taken from what is promoted, e.g. "Spring sneaker drop"
- campaign_type: one of {", ".join(get_args(CampaignType))}
- objectives: a list from {", ".join(v.OBJECTIVE_ORDER)}
- platforms: a list from {", ".join(PLATFORMS)} (paid ads: facebook_ads, google_ads, linkedin_ads, tiktok_ads)
- content_requirements: a list from {", ".join(v.CONTENT_ORDER)}
- timeline: {{"start": "YYYY-MM-DD" or null, "end": "YYYY-MM-DD" or null, "duration_days": integer or null, \
"text": the words the dates come from}}
- budget: {{"amount": number or null, "currency": ISO 4217 code or null, "split": {{platform: amount}}}}
- target_audience: {{"age_min": int or null, "age_max": int or null, "locations": [...], "interests": [...], \
"segments": [...]}}
Rules: use only what the request states or clearly implies; leave unknown values null or empty and never \
invent budgets, dates or audiences. Resolve relative dates ("next Monday", "for two weeks") against the \
reference date in the user's time zone; an end date is the last day the campaign runs. You also get a \
draft from a rule-based extractor: keep what it got right, correct what it got wrong, add what it missed."""

SUGGEST_SYSTEM: Final = f"""You review marketing campaign plans for Spreaders. Answer with ONE JSON object \
and nothing else: {{"suggestions": [{{"kind": ..., "text": ..., "field": ...}}, ...]}} with 3 to 5 \
suggestions, the most valuable first. kind is one of {", ".join(get_args(SuggestionKind))}; field is the \
plan field the suggestion changes (e.g. "platforms", "timeline", "budget.split", "content_requirements", \
"target_audience"); text is one or two concrete sentences with numbers, dates or channel names where \
possible (e.g. "Add email: send a teaser 3 days before the launch to your subscribers"). Look for missing \
or thin channels, timing and lead time, how the budget is split, content types the channels need, and how \
precisely the audience is described. You get the plan and rule-based suggestions you may keep or improve."""


def plan_request(prompt: str, *, draft: CampaignPlan, today: date, tz: str) -> ModelRequest:
    """The request asking a model to correct the offline `draft` of `prompt`."""
    facts = draft.model_dump(
        mode="json", exclude={"required_workflows", "confidence", "missing", "provenance"}
    )
    user = (
        f"Reference date: {today.isoformat()} ({today:%A}), time zone {tz}.\n\n"
        f"Marketing request:\n<<<\n{prompt}\n>>>\n\n"
        f"Draft from the rule-based extractor:\n{json.dumps(facts, ensure_ascii=False)}"
    )
    return ModelRequest(
        system=PLAN_SYSTEM, user=user, schema_name="campaign_plan", schema=ModelPlan.model_json_schema()
    )


def suggest_request(plan: CampaignPlan, rules: list[Suggestion]) -> ModelRequest:
    """The request asking a model for 3-5 improvements of `plan`."""
    facts = plan.model_dump(mode="json", exclude={"provenance", "confidence"})
    user = (
        f"Plan:\n{json.dumps(facts, ensure_ascii=False)}\n\n"
        f"Rule-based suggestions:\n{json.dumps([s.model_dump() for s in rules], ensure_ascii=False)}"
    )
    return ModelRequest(
        system=SUGGEST_SYSTEM,
        user=user,
        schema_name="plan_suggestions",
        schema=SuggestionAnswer.model_json_schema(),
    )


def parse_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer (code fences allowed), or `ModelFailed`."""
    body = _FENCE.sub("", text.strip())
    if not body:
        raise ModelFailed("the answer was empty")
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ModelFailed(f"the answer is not valid JSON ({exc.msg} at character {exc.pos})") from exc
    if not isinstance(value, dict):
        raise ModelFailed(f"the answer is JSON but not an object (got {type(value).__name__})")
    return value


def describe(exc: ValidationError) -> str:
    """A short, secret-free summary of a validation error: how many, and the first one."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the answer"
    return f"{exc.error_count()} schema violation(s), first at {where}: {first['msg']}"


def parse_plan(text: str) -> tuple[ModelPlan, dict[str, Any] | None]:
    """The model's plan facts and its raw timeline (checked apart, so bad dates cost only the dates)."""
    answer = parse_object(text)
    raw_timeline = answer.pop("timeline", None)
    try:
        facts = ModelPlan.model_validate(answer)
    except ValidationError as exc:
        raise ModelFailed(f"the answer does not match the plan schema: {describe(exc)}") from exc
    if facts == ModelPlan() and raw_timeline is None:
        raise ModelFailed("the answer holds none of the plan's fields")
    return facts, raw_timeline if isinstance(raw_timeline, dict) else None


def parse_suggestions(text: str) -> list[Suggestion]:
    """The model's suggestions, checked against the `Suggestion` schema."""
    try:
        return SuggestionAnswer.model_validate(parse_object(text)).suggestions
    except ValidationError as exc:
        raise ModelFailed(f"the answer does not match the suggestions schema: {describe(exc)}") from exc


def normalise_platform(name: str) -> str | None:
    """The vocabulary's name for a platform a model wrote ("Instagram", "X", "facebook_ads"), or None."""
    text = " ".join(name.replace("_", " ").replace("-", " ").split())
    if text in PLATFORMS:
        return text
    if text.lower() in {"x", "x twitter", "x (twitter)", "twitter/x"}:
        return v.X_PLATFORM
    for pattern, canonical in _ALIASES:
        if pattern.fullmatch(text):
            return canonical
    # Longest alias wins at the first position it is found ("Instagram Reels" -> instagram).
    hits = [
        (m.start(), -(m.end() - m.start()), canonical)
        for rx, canonical in _ALIAS_WORDS
        if (m := rx.search(text))
    ]
    return min(hits)[2] if hits else None
