"""Read what a workflow does from its nodes: trigger, platforms, capabilities, category, self-containment.

Rules are tables keyed by the node type's short name (`n8n-nodes-base.twitter` -> `twitter`); credential
types are matched by their longest known prefix (`twitterOAuth1Api` -> `twitter`). Authors may state
what the rules miss with tags `spreaders:capability=<cap>` and `spreaders:platform=<name>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, get_args

from spreaders.planner.schemas import Capability

# The planner's capability vocabulary: templates are classified in the words plans are made of.
CAPABILITIES: Final[tuple[str, ...]] = get_args(Capability)
TRIGGER_TYPES: Final = ("manual", "webhook", "schedule", "form", "app", "chat", "none", "execute_workflow")
UNCATEGORIZED: Final = "Uncategorized"

_CAPABILITY_TAG = "spreaders:capability="
_PLATFORM_TAG = "spreaders:platform="

# Short node type (without a Trigger/Tool suffix) or credential-type prefix -> platform.
PLATFORMS: Final[dict[str, str]] = {
    "twitter": "twitter",
    "instagram": "instagram",
    "facebookGraph": "facebook",
    "facebookGraphApi": "facebook",
    "facebook": "facebook",
    "facebookLeadAds": "facebook_ads",
    "facebookAds": "facebook_ads",
    "linkedIn": "linkedin",
    "hdwLinkedin": "linkedin",
    "hdwLinkedinManagement": "linkedin",
    "tiktok": "tiktok",
    "pinterest": "pinterest",
    "reddit": "reddit",
    "youTube": "youtube",
    "youtube": "youtube",
    "mastodon": "mastodon",
    "gmail": "email",
    "emailSend": "email",
    "emailReadImap": "email",
    "smtp": "email",
    "imap": "email",
    "microsoftOutlook": "email",
    "mailchimp": "email",
    "sendGrid": "email",
    "mailjet": "email",
    "mailgun": "email",
    "mailerLite": "email",
    "sendInBlue": "email",
    "brevo": "email",
    "convertKit": "email",
    "getResponse": "email",
    "awsSes": "email",
    "lemlist": "email",
    "klicktipp": "email",
    "klickTipp": "email",
    "automizy": "email",
    "autopilot": "email",
    "mautic": "email",
    "activeCampaign": "activecampaign",
    "slack": "slack",
    "telegram": "telegram",
    "discord": "discord",
    "discordBot": "discord",
    "whatsApp": "whatsapp",
    "microsoftTeams": "microsoft_teams",
    "mattermost": "mattermost",
    "twilio": "sms",
    "googleSheets": "google_sheets",
    "googleDrive": "google_drive",
    "googleDocs": "google_docs",
    "googleCalendar": "google_calendar",
    "googleAnalytics": "google_analytics",
    "googleAds": "google_ads",
    "openAi": "openai",
    "azureOpenAi": "openai",
    "lmChatOpenAi": "openai",
    "lmOpenAi": "openai",
    "lmChatAzureOpenAi": "openai",
    "embeddingsOpenAi": "openai",
    "lmChatAnthropic": "anthropic",
    "anthropic": "anthropic",
    "lmChatGoogleGemini": "gemini",
    "googlePalm": "gemini",
    "googleGemini": "gemini",
    "airtable": "airtable",
    "notion": "notion",
    "wordpress": "blog",
    "ghost": "blog",
    "ghostAdmin": "blog",
    "medium": "blog",
    "webflow": "blog",
    "shopify": "shopify",
    "wooCommerce": "woocommerce",
    "stripe": "stripe",
    "typeform": "forms",
    "jotForm": "forms",
    "formTrigger": "forms",
    "form": "forms",
    "hubspot": "hubspot",
    "salesforce": "salesforce",
    "pipedrive": "pipedrive",
    "zohoCrm": "zoho_crm",
    "zoho": "zoho_crm",
    "copper": "copper",
    "agileCrm": "agile_crm",
    "salesmate": "salesmate",
    "calendly": "calendly",
    "bitly": "bitly",
    "yourls": "yourls",
    "postHog": "posthog",
    "segment": "segment",
}

# Everyday names for platforms, so a filter for "X", "Mailchimp" or "Google Sheets" finds the canonical name.
_PLATFORM_ALIASES: Final[dict[str, str]] = {
    "x": "twitter",
    "x_twitter": "twitter",
    "fb": "facebook",
    "meta": "facebook",
    "ig": "instagram",
    "meta_ads": "facebook_ads",
    "instagram_ads": "facebook_ads",
    "adwords": "google_ads",
    "ga": "google_analytics",
    "ga4": "google_analytics",
    "sheets": "google_sheets",
    "newsletter": "email",
    "teams": "microsoft_teams",
    "chatgpt": "openai",
    "claude": "anthropic",
    "typeform": "forms",
    "youtube_shorts": "youtube",
}
_PLATFORMS_BY_LOWER: Final = {key.lower(): value for key, value in PLATFORMS.items()}

SOCIAL_PLATFORMS: Final = frozenset(
    {"twitter", "instagram", "facebook", "linkedin", "tiktok", "pinterest", "reddit", "youtube", "mastodon"}
)
MESSAGING_PLATFORMS: Final = frozenset(
    {"slack", "telegram", "discord", "whatsapp", "microsoft_teams", "mattermost", "sms"}
)
CRM_PLATFORMS: Final = frozenset(
    {"hubspot", "salesforce", "pipedrive", "zoho_crm", "copper", "agile_crm", "salesmate", "activecampaign"}
)
_PLATFORM_CAPABILITIES: Final[dict[str, str]] = {
    **{platform: "crm_sync" for platform in CRM_PLATFORMS},
    "google_ads": "ad_campaign",
    "facebook_ads": "ad_campaign",
    "google_analytics": "analytics_tracking",
    "posthog": "analytics_tracking",
    "segment": "analytics_tracking",
    "bitly": "analytics_tracking",
    "yourls": "analytics_tracking",
    "forms": "lead_capture",
}

_TRIGGERS: Final[dict[str, str]] = {
    "manualTrigger": "manual",
    "start": "manual",
    "webhook": "webhook",
    "mcpTrigger": "webhook",
    "scheduleTrigger": "schedule",
    "cron": "schedule",
    "interval": "schedule",
    "formTrigger": "form",
    "chatTrigger": "chat",
    "manualChatTrigger": "chat",
    "executeWorkflowTrigger": "execute_workflow",
    "emailReadImap": "app",
}
# When a workflow has several triggers, the one that says most about how it runs wins.
_TRIGGER_PRIORITY: Final = ("form", "chat", "webhook", "app", "schedule", "execute_workflow", "manual")

_SOCIAL_POSTING_TYPES: Final = frozenset(
    {"twitter", "linkedIn", "hdwLinkedinManagement", "reddit", "mastodon"}
)
_POST_OPERATIONS: Final = frozenset({"create", "post", "share", "retweet", "reply", "upload", "createPost"})
_EMAIL_ALWAYS_TYPES: Final = frozenset(
    {
        "emailSend",
        "mailchimp",
        "sendGrid",
        "mailjet",
        "mailgun",
        "mailerLite",
        "sendInBlue",
        "brevo",
        "convertKit",
        "getResponse",
        "awsSes",
        "lemlist",
        "klicktipp",
        "automizy",
        "autopilot",
        "mautic",
        "activeCampaign",
    }
)
_EMAIL_WHEN_SENDING_TYPES: Final = frozenset({"gmail", "microsoftOutlook"})
_SEND_OPERATIONS: Final = frozenset({"send", "reply", "sendAndWait", "draft", "create"})
_TEXT_LLM_TYPES: Final = frozenset(
    {"agent", "chainLlm", "chainSummarization", "openAi", "anthropic", "googleGemini", "mistralAi"}
)
_IMAGE_TYPES: Final = frozenset({"editImage", "bannerbear", "placid", "apiTemplateIo", "orshot"})
_ANALYTICS_TYPES: Final = frozenset(
    {"googleAnalytics", "postHog", "segment", "mixpanel", "matomo", "bitly", "yourls"}
)
_SHEET_WRITE_OPERATIONS: Final = frozenset({"append", "appendOrUpdate", "update"})
_LEAD_FORM_TYPES: Final = frozenset(
    {"formTrigger", "form", "typeformTrigger", "jotFormTrigger", "facebookLeadAdsTrigger", "calendlyTrigger"}
)
_LEAD_WORDS: Final = re.compile(r"lead|sign-?up|subscribe|contact|regist|waitlist|enquir|inquir|form", re.I)
_SCHEDULE_TYPES: Final = frozenset({"scheduleTrigger", "cron", "interval"})
_AGENT_TYPES: Final = frozenset({"agent", "chainLlm", "chatTrigger", "toolWorkflow", "mcpTrigger"})

# Outside APIs called through the HTTP Request node that tell a platform or capability.
_URL_HINTS: Final[tuple[tuple[re.Pattern[str], str | None, str | None], ...]] = (
    (re.compile(r"api\.twitter\.com|api\.x\.com", re.I), "twitter", None),
    (re.compile(r"graph\.instagram\.com|instagram", re.I), "instagram", None),
    (re.compile(r"graph\.facebook\.com", re.I), "facebook", None),
    (re.compile(r"api\.linkedin\.com", re.I), "linkedin", None),
    (re.compile(r"tiktok", re.I), "tiktok", None),
    (re.compile(r"api\.pinterest\.com", re.I), "pinterest", None),
    (re.compile(r"oauth\.reddit\.com", re.I), "reddit", None),
    (re.compile(r"googleapis\.com/(upload/)?youtube", re.I), "youtube", None),
    (re.compile(r"googleads\.googleapis\.com", re.I), "google_ads", None),
    (re.compile(r"analyticsdata\.googleapis\.com", re.I), "google_analytics", None),
    (
        re.compile(
            r"openai\.com/v1/images|stability\.ai|replicate\.com|ideogram|leonardo\.ai|fal\.run", re.I
        ),
        None,
        "content_generation_image",
    ),
    (
        re.compile(
            r"heygen|synthesia|runwayml|json2video|creatomate|shotstack|d-id\.com|lumalabs|klingai|hedra",
            re.I,
        ),
        None,
        "content_generation_video",
    ),
    (
        re.compile(r"openai\.com/v1/(chat|completions|responses)|api\.anthropic\.com|openrouter\.ai", re.I),
        None,
        "content_generation_text",
    ),
)

_CORE: Final = "n8n-nodes-base."
# Core nodes that run inside n8n alone: no credentials, no outside network, no host file system.
SELF_CONTAINED_TYPES: Final = frozenset(
    _CORE + name
    for name in (
        "set", "code", "function", "functionItem", "if", "switch", "merge", "noOp", "manualTrigger",
        "scheduleTrigger", "cron", "interval", "webhook", "respondToWebhook", "dateTime", "crypto",
        "stickyNote", "splitInBatches", "itemLists", "wait", "filter", "sort", "limit", "aggregate",
        "summarize", "removeDuplicates", "splitOut", "executeWorkflowTrigger", "html", "markdown", "xml",
        "renameKeys", "start", "errorTrigger", "compareDatasets", "stopAndError", "executionData",
        "convertToFile", "extractFromFile", "moveBinaryData", "debugHelper", "formTrigger", "form",
    )
)  # fmt: skip


@dataclass
class Classification:
    trigger_type: str
    platforms: list[str]
    capabilities: list[str]
    node_types: list[str]
    credential_types: list[str]
    self_contained: bool
    node_count: int
    warnings: list[str] = field(default_factory=list)


def short_type(node_type: str) -> str:
    """`n8n-nodes-base.twitterTrigger` -> `twitterTrigger`."""
    return node_type.rsplit(".", 1)[-1]


def _base_type(node_type: str) -> str:
    return re.sub(r"(Trigger|Tool)$", "", short_type(node_type)) or short_type(node_type)


def _enabled(nodes: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (node for node in nodes if node.get("disabled") is not True)


def detect_trigger(nodes: Sequence[dict[str, Any]]) -> str:
    """Name how the workflow starts, from its enabled trigger nodes."""
    found: set[str] = set()
    for node in _enabled(nodes):
        kind = short_type(str(node.get("type", "")))
        if kind in _TRIGGERS:
            found.add(_TRIGGERS[kind])
        elif kind.endswith("Trigger"):
            found.add("app")
    return next((kind for kind in _TRIGGER_PRIORITY if kind in found), "none")


def canonical_platform(name: str) -> str:
    """Map a platform as people write it ("Google Sheets", "Mailchimp", "X") to the registry's name."""
    key = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    if key in _PLATFORM_ALIASES:
        return _PLATFORM_ALIASES[key]
    return _PLATFORMS_BY_LOWER.get(key.replace("_", ""), key)


def platform_for_credential(credential_type: str) -> str | None:
    """Match a credential type to a platform by its longest known prefix."""
    matches = [prefix for prefix in PLATFORMS if credential_type.startswith(prefix)]
    return PLATFORMS[max(matches, key=len)] if matches else None


def classify(workflow: dict[str, Any], *, tags: Sequence[str] = ()) -> Classification:
    """Classify a normalised workflow."""
    nodes: list[dict[str, Any]] = workflow["nodes"]
    node_types = sorted({str(node["type"]) for node in nodes})
    credential_types = sorted({str(cred) for node in nodes for cred in (node.get("credentials") or {})})
    platforms: set[str] = set()
    capabilities: set[str] = set()
    for node in nodes:
        if (platform := PLATFORMS.get(_base_type(node["type"]))) is not None:
            platforms.add(platform)
        if (platform := PLATFORMS.get(short_type(node["type"]))) is not None:
            platforms.add(platform)
        _node_capabilities(node, platforms, capabilities)
    for credential in credential_types:
        if (platform := platform_for_credential(credential)) is not None:
            platforms.add(platform)
    capabilities.update(_PLATFORM_CAPABILITIES[p] for p in platforms if p in _PLATFORM_CAPABILITIES)
    warnings = _apply_tags(tags, platforms, capabilities)
    self_contained = not credential_types and all(kind in SELF_CONTAINED_TYPES for kind in node_types)
    return Classification(
        trigger_type=detect_trigger(nodes),
        platforms=sorted(platforms),
        capabilities=[cap for cap in CAPABILITIES if cap in capabilities],
        node_types=node_types,
        credential_types=credential_types,
        self_contained=self_contained,
        node_count=sum(1 for node in nodes if short_type(node["type"]) != "stickyNote"),
        warnings=warnings,
    )


def _node_capabilities(node: dict[str, Any], platforms: set[str], capabilities: set[str]) -> None:
    kind = short_type(node["type"])
    base = _base_type(node["type"])
    params: dict[str, Any] = node.get("parameters") or {}
    operation = params.get("operation")
    resource = params.get("resource")
    is_trigger = kind.endswith("Trigger")
    if not is_trigger and base in _SOCIAL_POSTING_TYPES and operation in {None, *_POST_OPERATIONS}:
        capabilities.add("social_publishing")
    if base == "youTube" and operation == "upload":
        capabilities.add("social_publishing")
    if base == "facebookGraphApi" and str(params.get("httpRequestMethod", "GET")).upper() == "POST":
        capabilities.add("social_publishing")
    if not is_trigger and (
        base in _EMAIL_ALWAYS_TYPES
        or (base in _EMAIL_WHEN_SENDING_TYPES and operation in {None, *_SEND_OPERATIONS})
    ):
        capabilities.add("email_campaign")
    if base == "openAi" and resource == "image":
        capabilities.add("content_generation_image")
    elif base == "openAi" and resource == "video":
        capabilities.add("content_generation_video")
    elif base in _TEXT_LLM_TYPES or re.match(r"lm(Chat)?[A-Z]", kind):
        capabilities.add("content_generation_text")
    if base in _IMAGE_TYPES:
        capabilities.add("content_generation_image")
    if base in _ANALYTICS_TYPES or (
        base == "googleSheets" and not is_trigger and operation in _SHEET_WRITE_OPERATIONS
    ):
        capabilities.add("analytics_tracking")
    if kind in _LEAD_FORM_TYPES:
        capabilities.add("lead_capture")
    if kind == "webhook" and _LEAD_WORDS.search(f"{node.get('name', '')} {params.get('path', '')}"):
        capabilities.add("lead_capture")
    if kind in _SCHEDULE_TYPES:
        capabilities.add("scheduling")
    if kind in {"httpRequest", "toolHttpRequest"}:
        _url_hints(params, platforms, capabilities)


def _url_hints(params: dict[str, Any], platforms: set[str], capabilities: set[str]) -> None:
    url = params.get("url")
    if not isinstance(url, str):
        return
    posting = str(params.get("method", "GET")).upper() in {"POST", "PUT"}
    for pattern, platform, capability in _URL_HINTS:
        if not pattern.search(url):
            continue
        if platform is not None:
            platforms.add(platform)
            if posting and platform in SOCIAL_PLATFORMS:
                capabilities.add("social_publishing")
        if capability is not None:
            capabilities.add(capability)


def _apply_tags(tags: Sequence[str], platforms: set[str], capabilities: set[str]) -> list[str]:
    warnings: list[str] = []
    for tag in tags:
        lowered = tag.strip().lower()
        if lowered.startswith(_CAPABILITY_TAG):
            capability = lowered.removeprefix(_CAPABILITY_TAG).strip()
            if capability in CAPABILITIES:
                capabilities.add(capability)
            else:
                warnings.append(f"tag {tag!r} names an unknown capability; known: {', '.join(CAPABILITIES)}")
        elif lowered.startswith(_PLATFORM_TAG):
            platform = canonical_platform(lowered.removeprefix(_PLATFORM_TAG))
            if platform:
                platforms.add(platform)
    return warnings


def derive_category(classification: Classification) -> str:
    """Pick a corpus-style category from what the workflow does."""
    caps = set(classification.capabilities)
    platforms = set(classification.platforms)
    if "social_publishing" in caps or platforms & SOCIAL_PLATFORMS:
        return "Social Media Management"
    if caps & {"ad_campaign", "email_campaign", "lead_capture"}:
        return "Marketing & Advertising Automation"
    if "crm_sync" in caps:
        return "CRM & Sales"
    if caps & {"content_generation_image", "content_generation_video"}:
        return "Creative Content & Video Automation"
    if platforms & MESSAGING_PLATFORMS:
        return "Communication & Messaging"
    if "content_generation_text" in caps or {short_type(t) for t in classification.node_types} & _AGENT_TYPES:
        return "AI Agent Development"
    if "analytics_tracking" in caps:
        return "Data Processing & Analysis"
    return UNCATEGORIZED


def describe(workflow: dict[str, Any], *, limit: int = 500) -> str:
    """Return the workflow's own description, else the text of its first sticky note."""
    description = workflow.get("description")
    if isinstance(description, str) and description.strip():
        return description.strip()[:limit]
    for note in sticky_notes(workflow):
        text = re.sub(r"[#*_`>\[\]]+", " ", note)
        text = re.sub(r"\s+", " ", text).strip()
        if len(text) >= 20:
            return text[:limit]
    return ""


def sticky_notes(workflow: dict[str, Any]) -> list[str]:
    notes: list[str] = []
    for node in workflow["nodes"]:
        content = (node.get("parameters") or {}).get("content")
        if short_type(node["type"]) == "stickyNote" and isinstance(content, str) and content.strip():
            notes.append(content)
    return notes


def search_text(workflow: dict[str, Any], *, description: str, classification: Classification) -> str:
    """Lower-case text matched by keyword search."""
    parts = [
        str(workflow.get("name", "")),
        description,
        *(str(node.get("name", "")) for node in workflow["nodes"]),
        *sticky_notes(workflow),
        *classification.platforms,
        *classification.capabilities,
        *(short_type(kind) for kind in classification.node_types),
    ]
    return re.sub(r"\s+", " ", " ".join(parts)).strip().lower()
