"""MCP tools of campaigns: create from a prompt, analyze, suggest improvements, get, list, launch; plans as
resources; a drafting prompt.

Planning over MCP can use the client: missing facts are asked back through form elicitation and the plan
is refined by the client's model through sampling, when the client declares those capabilities. Both
are `Resolve(...)` dependencies of the tools, so the SDK sends them mid-call on handshake-era protocols
and as `InputRequiredResult` rounds on 2026-07-28+. (No `from __future__ import annotations` here: the
SDK reads the `Resolve(...)` markers from the annotations, and they name resolvers defined in `register`.)
"""

import json
from datetime import datetime
from typing import Annotated, Any

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
    Sample,
)
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import (
    CallToolResult,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ResourceLink,
    SamplingMessage,
    TextContent,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, ValidationError, create_model

from spreaders.bootstrap import AppContext
from spreaders.campaigns import service as campaigns
from spreaders.campaigns.schemas import CampaignCreated, CampaignRead, CampaignRunReport, PlanDraft
from spreaders.errors import Invalid, SpreadersError
from spreaders.mcp.toolkit import (
    READ_ONLY,
    RUNS_WORKFLOWS,
    WRITES,
    Caller,
    ProgressRelay,
    ToolEnv,
    resource_errors,
    result,
    tool,
)
from spreaders.planner import service as planner
from spreaders.planner.prompting import ModelFailed, ModelRequest, PlannerBackend
from spreaders.planner.sampling import Sampler, SamplingBackend
from spreaders.planner.schemas import CampaignPlan, ImprovementSuggestions, MissingFact
from spreaders.settings import PlannerSettings

CREATE = """Turn a marketing request in plain language into a campaign: a structured plan (goal, audience,
channels, dates, budget), the workflow templates chosen for it, the credentials still missing and the next
step. Nothing runs yet. Relative dates ("next Friday", "for two weeks") are resolved against `now` in
`timezone`; pass the user's current time when you know it. Then connect what `missing_credentials` lists
(credential.connect) and start it with campaign.launch. When your client supports elicitation, Spreaders
may ask the user for missing channels, dates, budget or audience; when it supports sampling, your model
refines the plan (provenance.backend says which planner made it)."""

ANALYZE = """Analyze a marketing request into a structured campaign plan only (goal, audience, channels,
dates, budget, required workflow capabilities, missing facts), without choosing workflows. The plan is
stored as a draft and readable at `resource_uri` (campaign://plans/{id}); pass its id to
campaign.suggestImprovements. Relative dates are resolved against `now` in `timezone`. May ask the user
for missing facts (elicitation) and your model to refine the plan (sampling) when your client supports it."""

SUGGEST = """Suggest 3-5 concrete improvements to a campaign plan: missing channels, timing, budget split,
content types, audience. Pass `campaignId` (a campaign or a draft from campaign.analyze) or a `prompt`
(planned offline first). Uses your model through sampling when your client supports it, else Spreaders'
own rules."""

GET = "Get one campaign: its prompt, plan, chosen workflow templates and status."

LIST = "List this workspace's campaigns, newest first, with their plans and status."

LAUNCH = """Deploy and run a campaign's workflows in n8n, in order, each receiving the plan and the previous
step's output; stops at the first failure. Starts the workspace's n8n first if needed (the first start can
take minutes; progress notifications report each step). Returns every step's execution with its output."""

PLAN_RESOURCE = "A campaign's structured plan (goal, audience, channels, timeline, budget) as JSON."


class CampaignList(BaseModel):
    items: list[CampaignRead]


def draft_request(
    brief: Annotated[str, Field(description="What the user wants, in their own words.")],
) -> str:
    """The text of the `plan_campaign` prompt."""
    return (
        "Help me turn this into a campaign request for Spreaders.\n\n"
        f"My brief: {brief}\n\n"
        "Ask me only for what is missing among: what is promoted, the audience (ages, places, interests), "
        "the channels (e.g. email, Instagram, LinkedIn), the start date and duration, and the budget with "
        "its currency. Then write the request as one or two plain sentences and call "
        "campaign.createFromPrompt with it (pass my current time as `now` if you know it). "
        "Show me the plan and the missing credentials; for each, call credential.connect and give me the "
        "link. Never ask me to paste passwords or API keys into this conversation."
    )


INPUT_REQUIRED_VERSION = "2026-07-28"  # from here on, server-to-client requests ride InputRequiredResult
ELICIT_MESSAGE = (
    "Spreaders needs a few more facts to plan this campaign. Answer in your own words; leave a field "
    "empty to skip it."
)


def _input_required(ctx: Context[Any, Any]) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION)


def _can_ask(ctx: Context[Any, Any]) -> bool:
    """Whether a server-to-client request can reach the client in this call."""
    return _input_required(ctx) or bool(ctx.session.can_send_request)


def _client_samples(ctx: Context[Any, Any], settings: PlannerSettings) -> bool:
    capabilities = ctx.client_capabilities
    return settings.mcp_sampling and capabilities is not None and capabilities.sampling is not None


def _client_elicits(ctx: Context[Any, Any], settings: PlannerSettings) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A bare `elicitation: {}` (before modes existed) means form mode; url-only does not.
    form = elicitation is not None and (elicitation.form is not None or elicitation.url is None)
    return settings.mcp_elicitation and form and _can_ask(ctx)


def missing_facts_form(missing: list[MissingFact]) -> type[BaseModel]:
    """A form with one optional text field per missing fact, titled and described by its question."""
    fields: dict[str, Any] = {
        fact.field: (
            str | None,
            Field(default=None, title=planner.ASKABLE[fact.field], description=fact.question, max_length=300),
        )
        for fact in missing
    }
    return create_model("MissingFacts", **fields)


def _answers(outcome: ElicitationResult[BaseModel]) -> dict[str, str]:
    if not isinstance(outcome, AcceptedElicitation) or outcome.data is None:
        return {}
    return {k: v for k, v in outcome.data.model_dump().items() if isinstance(v, str) and v.strip()}


def _sample(request: ModelRequest, settings: PlannerSettings) -> Sample:
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=request.user))],
        system_prompt=request.system,
        max_tokens=settings.llm_max_tokens,
        temperature=0,
    )


def _text(result: CreateMessageResult) -> str:
    if not isinstance(result.content, TextContent):
        raise ModelFailed(f"the client's model answered with {result.content.type} content, not text")
    return result.content.text


def _prefetched(result: CreateMessageResult, asked: ModelRequest) -> Sampler:
    """A sampler answering with what the client's model already said to `asked` (2026-07-28+ rounds)."""

    async def sampler(system: str, user: str) -> str:
        if (system, user) != (asked.system, asked.user):
            raise ModelFailed("the sampled request no longer matches the plan request")
        return _text(result)

    return sampler


def _live_sampler(ctx: Context[Any, Any], settings: PlannerSettings) -> Sampler:
    """A sampler sending `sampling/createMessage` mid-call (handshake-era protocols)."""

    async def sampler(system: str, user: str) -> str:
        request = CreateMessageRequest(
            params=CreateMessageRequestParams(
                messages=[SamplingMessage(role="user", content=TextContent(type="text", text=user))],
                system_prompt=system,
                max_tokens=settings.llm_max_tokens,
                temperature=0,
            )
        )
        try:
            result = await ctx.session.send_request(
                request,
                CreateMessageResult,
                request_read_timeout_seconds=settings.mcp_sampling_timeout_s,
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
        except (MCPError, TimeoutError, ValidationError) as exc:
            raise ModelFailed(f"the client did not sample ({type(exc).__name__}: {exc})") from exc
        return _text(result)

    return sampler


def _backend(
    ctx: Context[Any, Any],
    app: AppContext,
    sampled: CreateMessageResult | None,
    asked: ModelRequest | None,
) -> PlannerBackend | None:
    """The client's model when it sampled (or can sample now), else the configured planner backend."""
    settings = app.settings.planner
    if sampled is not None and asked is not None:
        return SamplingBackend(_prefetched(sampled, asked))
    if _client_samples(ctx, settings) and not _input_required(ctx) and ctx.session.can_send_request:
        return SamplingBackend(_live_sampler(ctx, settings))
    return planner.select_backend(settings, app.http)


def _plan_inputs(
    ctx: Context[Any, Any],
    app: AppContext,
    *,
    prompt: str,
    now: datetime | None,
    timezone: str,
    answers: ElicitationResult[BaseModel],
    sampled: CreateMessageResult | None,
) -> tuple[dict[str, str], PlannerBackend | None]:
    """The user's elicited answers and the backend that plans with them (shared by create and analyze)."""
    given = _answers(answers)
    asked = planner.plan_request(prompt, now=now, tz=timezone, answers=given) if sampled else None
    return given, _backend(ctx, app, sampled, asked)


def _prefetch_sampling(ctx: Context[Any, Any], settings: PlannerSettings) -> bool:
    return _client_samples(ctx, settings) and _input_required(ctx)


def _draft_result(draft: PlanDraft) -> CallToolResult:
    plan = draft.plan
    channels = ", ".join(plan.platforms) or "no channels yet"
    summary = (
        f"Plan {draft.campaign_id} '{plan.name}' ({plan.campaign_type}, {channels}; "
        f"planner: {plan.provenance.backend}); stored at {draft.resource_uri}."
    )
    if plan.missing:
        summary += " Missing: " + "; ".join(m.question for m in plan.missing)
    return CallToolResult(
        content=[
            TextContent(type="text", text=summary),
            ResourceLink(
                type="resource_link",
                uri=draft.resource_uri,
                name=f"campaign-plan {draft.campaign_id}",
                mime_type="application/json",
            ),
        ],
        structured_content=draft.model_dump(mode="json"),
    )


async def _plan_to_improve(
    caller: Caller, campaign_id: str | None, prompt: str | None, tz: str, now: datetime | None
) -> CampaignPlan:
    if (campaign_id is None) == (prompt is None):
        raise Invalid(
            "Pass exactly one of campaignId and prompt.",
            hint="campaignId for a stored plan (campaign.analyze or campaign.createFromPrompt), else prompt.",
        )
    if campaign_id is not None:
        async with caller.app.unit_of_work() as session:
            tenant_id = caller.principal.tenant_id
            return await campaigns.get_plan(session, tenant_id=tenant_id, campaign_id=campaign_id)
    assert prompt is not None
    return await planner.analyze_prompt(prompt, now=now, tz=tz)


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add the campaign tools, the `campaign://plans/{id}` resource and the `plan_campaign` prompt."""

    # Resolvers run before a tool body, on every round; they never fail (the body reports bad input).
    async def ask_missing(
        ctx: Context[Any, Any], prompt: str, timezone: str, now: datetime | None
    ) -> Elicit[BaseModel] | None:
        if not _client_elicits(ctx, env.get_app().settings.planner):
            return None
        try:
            draft = await planner.analyze_prompt(prompt, now=now, tz=timezone)
        except SpreadersError:
            return None
        missing = planner.askable_missing(draft)
        return Elicit(ELICIT_MESSAGE, missing_facts_form(missing)) if missing else None

    async def sample_plan(
        ctx: Context[Any, Any],
        prompt: str,
        timezone: str,
        now: datetime | None,
        answers: Annotated[ElicitationResult[BaseModel], Resolve(ask_missing)],
    ) -> Sample | None:
        settings = env.get_app().settings.planner
        if not _prefetch_sampling(ctx, settings):
            return None
        try:
            request = planner.plan_request(prompt, now=now, tz=timezone, answers=_answers(answers))
        except SpreadersError:
            return None
        return _sample(request, settings)

    async def plan_to_improve(
        campaignId: str | None, prompt: str | None, timezone: str, now: datetime | None
    ) -> CampaignPlan | None:
        try:
            return await _plan_to_improve(env.caller("campaigns:read"), campaignId, prompt, timezone, now)
        except SpreadersError:
            return None

    async def sample_suggestions(
        ctx: Context[Any, Any], plan: Annotated[CampaignPlan | None, Resolve(plan_to_improve)]
    ) -> Sample | None:
        settings = env.get_app().settings.planner
        if plan is None or not _prefetch_sampling(ctx, settings):
            return None
        return _sample(planner.suggestion_request(plan), settings)

    @tool(server, name="campaign.createFromPrompt", description=CREATE, annotations=WRITES)
    async def create_from_prompt(
        ctx: Context[Any, Any],
        prompt: Annotated[
            str, Field(description="The marketing request, e.g. 'Promote our spring sale ...'.")
        ],
        answers: Annotated[ElicitationResult[BaseModel], Resolve(ask_missing)],
        sampled: Annotated[CreateMessageResult | None, Resolve(sample_plan)],
        timezone: Annotated[
            str, Field(description="IANA time zone of the user, e.g. 'Europe/Paris'.")
        ] = "UTC",
        now: Annotated[
            datetime | None, Field(description="The user's current time (ISO 8601); fixes relative dates.")
        ] = None,
        selfContainedOnly: Annotated[
            bool, Field(description="Only choose templates that need no accounts (useful for a first try).")
        ] = False,
    ) -> Annotated[CallToolResult, CampaignCreated]:
        caller = env.caller("campaigns:write")
        given, backend = _plan_inputs(
            ctx, caller.app, prompt=prompt, now=now, timezone=timezone, answers=answers, sampled=sampled
        )
        async with caller.app.unit_of_work() as session:
            created = await campaigns.create_from_prompt(
                session,
                principal=caller.principal,
                prompt=prompt,
                now=now,
                tz=timezone,
                self_contained_only=selfContainedOnly,
                backend=backend,
                answers=given,
            )
        workflows = ", ".join(w.name for w in created.workflows) or "no workflows"
        summary = (
            f"Campaign {created.id} '{created.name}' planned with {workflows}. Next: {created.next_step}"
        )
        return result(created, summary)

    @tool(server, name="campaign.analyze", description=ANALYZE, annotations=WRITES)
    async def analyze(
        ctx: Context[Any, Any],
        prompt: Annotated[str, Field(description="The marketing request in plain words.")],
        answers: Annotated[ElicitationResult[BaseModel], Resolve(ask_missing)],
        sampled: Annotated[CreateMessageResult | None, Resolve(sample_plan)],
        timezone: Annotated[
            str, Field(description="IANA time zone of the user, e.g. 'Europe/Paris'.")
        ] = "UTC",
        now: Annotated[
            datetime | None, Field(description="The user's current time (ISO 8601); fixes relative dates.")
        ] = None,
    ) -> Annotated[CallToolResult, PlanDraft]:
        caller = env.caller("campaigns:write")
        given, backend = _plan_inputs(
            ctx, caller.app, prompt=prompt, now=now, timezone=timezone, answers=answers, sampled=sampled
        )
        async with caller.app.unit_of_work() as session:
            draft = await campaigns.draft_from_prompt(
                session,
                principal=caller.principal,
                prompt=prompt,
                now=now,
                tz=timezone,
                backend=backend,
                answers=given,
            )
        return _draft_result(draft)

    @tool(server, name="campaign.suggestImprovements", description=SUGGEST, annotations=READ_ONLY)
    async def suggest_improvements(
        ctx: Context[Any, Any],
        sampled: Annotated[CreateMessageResult | None, Resolve(sample_suggestions)],
        campaignId: Annotated[
            str | None, Field(description="A campaign or draft plan id (cmp_...) to improve.")
        ] = None,
        prompt: Annotated[
            str | None, Field(description="A marketing request to plan offline and improve, instead.")
        ] = None,
        timezone: Annotated[str, Field(description="IANA time zone for a prompt's relative dates.")] = "UTC",
        now: Annotated[datetime | None, Field(description="The user's current time (ISO 8601).")] = None,
    ) -> Annotated[CallToolResult, ImprovementSuggestions]:
        caller = env.caller("campaigns:read")
        plan = await _plan_to_improve(caller, campaignId, prompt, timezone, now)
        asked = planner.suggestion_request(plan) if sampled is not None else None
        found = await planner.suggest_improvements(plan, backend=_backend(ctx, caller.app, sampled, asked))
        lines = " ".join(f"{n}. {s.text}" for n, s in enumerate(found.suggestions, start=1))
        return result(found, f"{len(found.suggestions)} suggestions for '{plan.name}': {lines}")

    @tool(server, name="campaign.get", description=GET, annotations=READ_ONLY)
    async def get(
        campaignId: Annotated[str, Field(description="Campaign id (cmp_...).")],
    ) -> Annotated[CallToolResult, CampaignRead]:
        caller = env.caller("campaigns:read")
        async with caller.app.unit_of_work() as session:
            campaign = await campaigns.get_campaign(
                session, tenant_id=caller.principal.tenant_id, campaign_id=campaignId
            )
        return result(campaign, f"Campaign {campaign.id} '{campaign.name}' is {campaign.status}.")

    @tool(server, name="campaign.list", description=LIST, annotations=READ_ONLY)
    async def list_(
        limit: Annotated[int, Field(ge=1, le=100, description="Maximum number of campaigns.")] = 20,
    ) -> Annotated[CallToolResult, CampaignList]:
        caller = env.caller("campaigns:read")
        async with caller.app.unit_of_work() as session:
            items = await campaigns.list_campaigns(session, tenant_id=caller.principal.tenant_id, limit=limit)
        lines = "; ".join(f"{c.id} '{c.name}' ({c.status})" for c in items)
        return result(
            CampaignList(items=items), f"{len(items)} campaigns: {lines}." if items else "No campaigns yet."
        )

    @tool(server, name="campaign.launch", description=LAUNCH, annotations=RUNS_WORKFLOWS)
    async def launch(
        ctx: Context[Any, Any],
        campaignId: Annotated[str, Field(description="Campaign id (cmp_...).")],
        timeoutSeconds: Annotated[
            float, Field(gt=0, le=3600, description="How long to wait for each workflow to finish.")
        ] = 120,
    ) -> Annotated[CallToolResult, CampaignRunReport]:
        caller = env.caller("campaigns:write")
        relay = ProgressRelay(ctx)
        relay.say(f"launching campaign {campaignId}")
        try:
            report = await campaigns.launch(
                caller.app,
                principal=caller.principal,
                campaign_id=campaignId,
                timeout_s=timeoutSeconds,
                provisioning_progress=relay.say,
                run_progress=relay.run,
            )
            relay.say(f"campaign {campaignId} finished: {report.status}")
        finally:
            await relay.flush()
        done = f"{report.completed}/{report.total} workflows done"
        summary = f"Campaign {report.campaign_id}: {report.status}, {done}."
        if report.failed_step:
            summary += f" Failed at '{report.failed_step}'; see execution.getStatus for the error."
        return result(report, summary)

    @server.resource(
        "campaign://plans/{campaign_id}",
        name="campaign-plan",
        description=PLAN_RESOURCE,
        mime_type="application/json",
    )
    @resource_errors
    async def plan_resource(campaign_id: str) -> str:
        caller = env.caller("campaigns:read")
        async with caller.app.unit_of_work() as session:
            campaign = await campaigns.get_campaign(
                session, tenant_id=caller.principal.tenant_id, campaign_id=campaign_id
            )
        return json.dumps(campaign.plan.model_dump(mode="json"))

    server.prompt(
        name="plan_campaign",
        title="Plan a marketing campaign",
        description="Draft a campaign request with the user, then create it with campaign.createFromPrompt.",
    )(draft_request)
