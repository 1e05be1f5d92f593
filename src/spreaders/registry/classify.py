"""Read what a workflow does from its nodes: trigger, platforms, capabilities, category, self-containment,
the credentials and trigger inputs it needs, and roughly how long one run takes.

Node types are looked up in the maintained mapping (`node_map.json`, see `node_map`): platform, kind,
credential, implied capabilities. Types it does not list fall back to `PLATFORMS`, keyed by the short
type name (`n8n-nodes-base.twitter` -> `twitter`); credential types it does not list are matched by their
longest known prefix in `PLATFORMS` (`twitterOAuth1Api` -> `twitter`). Authors may state what the rules
miss with tags `spreaders:capability=<cap>` and `spreaders:platform=<name>`.

Platforms are named by channel where the planner plans by channel: every mail service (Gmail and its
`gmailOAuth2` credential, SMTP, Mailchimp, ...) is `email`, SMS gateways are `sms`, blog engines `blog`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, get_args

from spreaders.planner.schemas import Capability
from spreaders.registry.classify_duration import estimate_duration_ms
from spreaders.registry.classify_graph import build_graph
from spreaders.registry.classify_inputs import trigger_inputs
from spreaders.registry.node_map import NodeKind, NodeSpec, credential_platform, node_spec, type_version

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
    "lmChatGoogleGemini": "google_gemini",
    "googlePalm": "google_gemini",
    "googleGemini": "google_gemini",
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
    "gemini": "google_gemini",
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
    {
        "hubspot",
        "salesforce",
        "pipedrive",
        "zoho_crm",
        "copper",
        "agile_crm",
        "salesmate",
        "activecampaign",
        "keap",
        "highlevel",
        "affinity",
    }
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

_LEAD_WORDS: Final = re.compile(r"lead|sign-?up|subscribe|contact|regist|waitlist|enquir|inquir|form", re.I)
_AGENT_TYPES: Final = frozenset({"agent", "chainLlm", "chatTrigger", "toolWorkflow", "mcpTrigger"})
_HTTP_TYPES: Final = frozenset({"httpRequest", "httpRequestTool", "toolHttpRequest"})
_LANGUAGE_MODEL: Final = re.compile(r"^lm(Chat)?[A-Z]")
_CAPABILITY_KINDS: Final[dict[str, NodeKind]] = {
    "content_generation_image": "image",
    "content_generation_video": "video",
    "content_generation_text": "llm",
}

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


@dataclass
class RequiredCredential:
    """A credential the workflow needs before it can run, and the nodes that use it."""

    type: str  # n8n credential type, e.g. "slackApi"
    platform: str | None  # the service it unlocks; None for generic ones (header auth, basic auth)
    nodes: list[str]  # names of the nodes using it, in workflow order

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
    required_credentials: list[RequiredCredential] = field(default_factory=list)
    # Dotted paths read from the trigger's item, e.g. "body.email", "chatInput"; see `classify_inputs`.
    required_inputs: list[str] = field(default_factory=list)
    # {input path: JSON type} for the inputs whose type the template declares (`classify_inputs`).
    input_types: dict[str, str] = field(default_factory=dict)
    # Heuristic time of one run; see `classify_duration`.
    estimated_duration_ms: int = 0

    def required_credentials_json(self) -> list[dict[str, Any]]:
        return [credential.to_json() for credential in self.required_credentials]


@dataclass(frozen=True)
class NodeReading:
    """What the mapping (or, for unmapped types, the fallback rules) says about one node."""

    spec: NodeSpec | None
    platforms: frozenset[str]
    capabilities: frozenset[str]
    kind: NodeKind


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
    """Name the platform a credential type unlocks: from the mapping, else by its longest known prefix."""
    known, platform = credential_platform(credential_type)
    if known:
        return platform
    matches = [prefix for prefix in PLATFORMS if credential_type.startswith(prefix)]
    return PLATFORMS[max(matches, key=len)] if matches else None


def read_node(node: dict[str, Any]) -> NodeReading:
    """Platform, capabilities and kind of one node, from the mapping and its parameters."""
    node_type = str(node["type"])
    params: dict[str, Any] = node.get("parameters") or {}
    spec = _spec_for(node_type)
    if spec is None:
        return _read_unmapped(node_type)
    capabilities, kind = spec.applied(params)
    found_capabilities = set(capabilities)
    platforms = {spec.platform} if spec.platform is not None else set()
    if spec.lead_words is not None and _mentions_leads(node, spec.lead_words):
        found_capabilities.add("lead_capture")
    if short_type(node_type) in _HTTP_TYPES:
        hinted = _url_hints(params, platforms, found_capabilities)
        kind = _CAPABILITY_KINDS.get(hinted, kind) if hinted else kind
    return NodeReading(spec, frozenset(platforms), frozenset(found_capabilities), kind)


def _spec_for(node_type: str) -> NodeSpec | None:
    """The mapping's entry; a `...Tool` variant not listed on its own reads as its base node."""
    spec = node_spec(node_type)
    if spec is None and node_type.endswith("Tool"):
        spec = node_spec(node_type.removesuffix("Tool"))
    return spec


def _read_unmapped(node_type: str) -> NodeReading:
    kind = short_type(node_type)
    platforms = {
        platform for key in (_base_type(node_type), kind) if (platform := PLATFORMS.get(key)) is not None
    }
    if _LANGUAGE_MODEL.match(kind):
        return NodeReading(None, frozenset(platforms), frozenset({"content_generation_text"}), "model")
    return NodeReading(
        None, frozenset(platforms), frozenset(), "trigger" if kind.endswith("Trigger") else "api"
    )


def _mentions_leads(node: dict[str, Any], parameter_paths: Sequence[str]) -> bool:
    texts = [str(node.get("name", ""))]
    for path in parameter_paths:
        value: object = node.get("parameters") or {}
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            texts.append(value)
    return bool(_LEAD_WORDS.search(" ".join(texts)))


def classify(workflow: dict[str, Any], *, tags: Sequence[str] = ()) -> Classification:
    """Classify a normalised workflow."""
    nodes: list[dict[str, Any]] = workflow["nodes"]
    graph = build_graph(workflow.get("connections") or {})
    node_types = sorted({str(node["type"]) for node in nodes})
    credential_types = sorted({str(cred) for node in nodes for cred in (node.get("credentials") or {})})
    readings = [read_node(node) for node in nodes]
    platforms: set[str] = set()
    capabilities: set[str] = set()
    for reading in readings:
        platforms.update(reading.platforms)
        capabilities.update(reading.capabilities)
    for credential in credential_types:
        if (platform := platform_for_credential(credential)) is not None:
            platforms.add(platform)
    capabilities.update(_PLATFORM_CAPABILITIES[p] for p in platforms if p in _PLATFORM_CAPABILITIES)
    warnings = _apply_tags(tags, platforms, capabilities)
    read = list(zip(nodes, readings, strict=True))
    enabled = [(node, reading) for node, reading in read if node.get("disabled") is not True]
    triggers = {str(node["name"]): short_type(node["type"]) for node, r in enabled if r.kind == "trigger"}
    kinds = {str(node["name"]): reading.kind for node, reading in read}
    credentials = required_credentials(enabled)
    inputs, input_types = trigger_inputs(nodes, graph, triggers)
    self_contained = (
        not credential_types
        and not credentials
        and all(r.spec is not None and not r.spec.external and not r.spec.host for r in readings)
    )
    return Classification(
        trigger_type=detect_trigger(nodes),
        platforms=sorted(platforms),
        capabilities=[cap for cap in CAPABILITIES if cap in capabilities],
        node_types=node_types,
        credential_types=credential_types,
        self_contained=self_contained,
        node_count=sum(1 for node in nodes if short_type(node["type"]) != "stickyNote"),
        warnings=warnings,
        required_credentials=credentials,
        required_inputs=inputs,
        input_types=input_types,
        estimated_duration_ms=estimate_duration_ms(nodes, graph, kinds, list(triggers)),
    )


def required_credentials(nodes: Sequence[tuple[dict[str, Any], NodeReading]]) -> list[RequiredCredential]:
    """List the credentials the nodes use, including those an export lost but the node type needs."""
    users: dict[str, list[str]] = {}
    node_platforms: dict[str, set[str | None]] = {}
    for node, reading in nodes:
        for credential in _node_credentials(node, reading.spec):
            names = users.setdefault(credential, [])
            if node["name"] not in names:
                names.append(str(node["name"]))
            node_platforms.setdefault(credential, set()).update(reading.platforms or {None})
    found: list[RequiredCredential] = []
    for credential in sorted(users):
        platform = platform_for_credential(credential)
        shared = node_platforms[credential]
        if platform is None and len(shared) == 1:
            platform = next(iter(shared))
        found.append(RequiredCredential(type=credential, platform=platform, nodes=users[credential]))
    return found


def _node_credentials(node: dict[str, Any], spec: NodeSpec | None) -> list[str]:
    """The credential types a node uses: its `credentials` block, else what its type and parameters need."""
    explicit = [str(cred) for cred in node.get("credentials") or {}]
    rule = spec.credentials if spec is not None else None
    selected = rule.resolve(node.get("parameters") or {}, type_version(node)) if rule is not None else None
    if explicit:
        # Exports sometimes keep credentials of an authentication mode the node no longer uses.
        return [selected] if selected in explicit else explicit
    return [selected] if selected else []


def _url_hints(params: dict[str, Any], platforms: set[str], capabilities: set[str]) -> str | None:
    """Add what the URL of an HTTP call tells; return the content capability it implies, if any."""
    url = params.get("url")
    if not isinstance(url, str):
        return None
    posting = str(params.get("method", "GET")).upper() in {"POST", "PUT"}
    implied: str | None = None
    for pattern, platform, capability in _URL_HINTS:
        if not pattern.search(url):
            continue
        if platform is not None:
            platforms.add(platform)
            if posting and platform in SOCIAL_PLATFORMS:
                capabilities.add("social_publishing")
        if capability is not None:
            capabilities.add(capability)
            implied = implied or capability
    return implied


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
