"""The offline planner: deterministic extraction of a `CampaignPlan` from a prompt, no I/O.

Every fact comes from the vocabulary in `vocabulary.py` matched against the prompt; facts the prompt
does not state are left empty (and listed in `missing`) or filled from the campaign type, and such
defaults are noted in `provenance.notes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from spreaders.planner import vocabulary as v
from spreaders.planner.offline_text import correct_typos
from spreaders.planner.schemas import (
    Audience,
    Budget,
    CampaignPlan,
    CampaignType,
    Capability,
    ContentType,
    MissingFact,
    Provenance,
)
from spreaders.planner.timeline import resolve_timeline

_I: Final = re.IGNORECASE
# Not inside a word or a letter-hyphen compound ("pre-ig"); "3-email" still names email.
_PLATFORM_START: Final = r"(?<![\w.])(?<![^\W\d_]-)"
_PLATFORM_RES: Final = tuple(
    (re.compile(rf"{_PLATFORM_START}(?:{p})(?!\w)", _I), name) for p, name in v.PLATFORM_ALIASES
) + tuple((re.compile(rf"{_PLATFORM_START}(?:{p})(?!\w)"), name) for p, name in v.CASED_PLATFORM_ALIASES)
_ADS_ON: Final = re.compile(v.ADS_ON, _I)
_LIST_GAP: Final = re.compile(v.X_LIST_SEPARATORS, _I)
_X_RE: Final = re.compile(r"(?<![\w.-])X(?![\w-]|\.\w)")
_X_BEFORE: Final = re.compile(v.X_CONTEXT_BEFORE, _I)
_X_SEP_BEFORE: Final = re.compile(v.X_LIST_SEPARATORS + r"$", _I)
_X_SEP_AFTER: Final = re.compile(v.X_LIST_SEPARATORS, _I)
_NEGATION: Final = re.compile(
    r"\b(?:not|no|without|except|excluding|but\s+not|skip(?:ping)?|nicht|kein\w*|ohne|au[ßs]er|sin|excepto|"
    r"salvo|menos)\s+(?:on\s+|via\s+|any\s+|auf\s+|en\s+|über\s+|por\s+)?$",
    _I,
)
_TYPE_RES: Final = tuple(
    (t, tuple(re.compile(rf"\b(?:{p})", _I) for p in ps)) for t, ps in v.CAMPAIGN_TYPE_PATTERNS
)
_OBJECTIVE_RES: Final = tuple((name, re.compile(p, _I)) for name, p in v.OBJECTIVE_PATTERNS)
_CONTENT_RES: Final = tuple((name, re.compile(p, _I)) for name, p in v.CONTENT_PATTERNS)
_AD_WORDS: Final = re.compile(v.AD_WORDS, _I)
_LEADS_WORDS: Final = re.compile(dict(v.OBJECTIVE_PATTERNS)["generate_leads"], _I)

_NUM: Final = r"\d{1,3}(?:[.,']\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d+)?"
_MULT: Final = (
    r"(?:(?P<mult>k|m|bn|mio|tsd)\b\.?|"
    r"\s+(?P<multw>thousand|million|grand|mil|millones|tausend|millionen)\b)?"
)
_CODES: Final = "|".join(v.CURRENCY_ISO)
_CUR_WORDS: Final = r"dollars?|bucks|euros?|pounds?|quid|francs?|franken|yen|pesos|d[oó]lares"
_MONEY_RES: Final = (
    re.compile(
        rf"(?P<cur>us\$|r\$|\$|€|£|¥|₹|(?<![\w])(?:{_CODES}|fr\.)(?![\w]))\s?(?P<num>{_NUM}){_MULT}"
        rf"(?:\s?(?P<code>{_CODES})\b)?",
        _I,
    ),
    re.compile(
        rf"(?<![\w.,])(?P<num>{_NUM}){_MULT}\s?(?P<cur>(?:{_CODES}|{_CUR_WORDS})\b|€|\$|£|¥)",
        _I,
    ),
    re.compile(
        rf"\b(?:{v.BUDGET_WORDS})\s*(?:of|is|:|=|around|about|~|de|von|ca\.?|approx\.?)?\s*(?P<num>{_NUM}){_MULT}"
        r"(?!\s*(?:%|year|people|\d))",
        _I,
    ),
    re.compile(rf"(?<![\w.,])(?P<num>{_NUM}){_MULT}\s+budget\b", _I),
)
_SPLIT_CONNECTOR: Final = re.compile(
    r"\s*(?:of\s+(?:it|that|this|the\s+(?:budget|total|money))\s+)?(?:(?:on|for|to|into|in|towards?)\s+)?"
    r"(?:(?:the|our|my)\s+)?",
    _I,
)
_PERCENT_SPLIT: Final = re.compile(r"(?P<pct>\d{1,3}(?:\.\d+)?)\s?%", _I)

_NOT_A_QUANTITY: Final = r"(?!\s*(?:days?|weeks?|months?|hours?|minutes?|%|k\b|percent|people|posts?))"
_AGE_RANGE: Final = re.compile(
    r"\b(?:(?:aged?|ages|im\s+alter\s+von|de\s+edad)\s+(?:between\s+)?(?P<a1>\d{1,2})\s*"
    r"(?:-|\u2013|to|and|bis|a)\s*(?P<b1>\d{1,2})|"
    r"(?P<a2>\d{1,2})\s*(?:-|\u2013|to|a|bis|und|y)\s*(?P<b2>\d{1,2})[- ]?"
    r"(?:year[- ]olds?|years?(?:[- ]old)?|yo|y/o|años|jahren?|jährige\w*)|"
    rf"(?:{v.PEOPLE_NOUNS})\s+(?:aged\s+)?(?P<a3>\d{{1,2}})\s*(?:-|\u2013|to)\s*(?P<b3>\d{{1,2}}))\b",
    _I,
)
_AGE_MIN: Final = re.compile(
    r"(?:\b(?:over|above|older\s+than|ab|über|mayores\s+de|m[aá]s\s+de)\s+(?P<a>\d{1,2})\b(?!\.\s)"
    r"|\b(?P<b>\d{1,2})\s?\+|\badults\b)" + _NOT_A_QUANTITY,
    _I,
)
_AGE_MAX: Final = re.compile(r"\b(?:under|below|younger\s+than)\s+(?P<a>\d{1,2})\b" + _NOT_A_QUANTITY, _I)
_PLACE_WORD: Final = r"[A-ZÀ-ÖØ-Þ][\w'.-]*"
_LOCATION: Final = re.compile(
    rf"\b(?:in|across|around|near|throughout|based\s+in|within|targeting|en|aus)\s+(?:the\s+|der\s+|den\s+)?"
    rf"(?P<places>{_PLACE_WORD}(?:\s+{_PLACE_WORD}){{0,2}}(?:(?:,\s*|\s+and\s+|\s+or\s+)"
    rf"{_PLACE_WORD}(?:\s+{_PLACE_WORD}){{0,2}})*)"
)
_LOCATION_SPLIT: Final = re.compile(r",\s*|\s+and\s+|\s+or\s+")
_BASED: Final = re.compile(rf"\b(?P<place>{_PLACE_WORD})-based\b")
_INTEREST_SUFFIX: Final = re.compile(
    rf"\b(?P<words>(?:[a-z][\w-]*\s+){{1,2}}?)(?:{v.INTEREST_SUFFIXES})\b", _I
)
_INTERESTED_IN: Final = re.compile(r"\binterested\s+in\s+(?P<what>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)", _I)
_NAME_RE: Final = re.compile(
    rf"\b(?:{v.NAME_VERBS})\s+(?:(?:(?:a|an|the|our|my|this|their)\s+new|our|my|the|a|an|this|their)\s+)?"
    rf"(?P<obj>(?:(?!(?:{v.NAME_STOPWORDS})\b)[\w'&-]+\s*){{1,5}})",
    _I,
)
_NAME_NOUN_RE: Final = re.compile(
    r"(?P<lead>(?:[\w'&-]+\s+){0,3})(?P<noun>sale|drop|launch|webinar|event|newsletter|promo(?:tion)?|giveaway|contest)\b",
    _I,
)
_NAME_LEAD_STOP: Final = re.compile(
    rf"^(?:{v.NAME_STOPWORDS}|{v.NAME_VERBS}|a|an|the|our|my|me|help|want|need|please)$", _I
)
_CONFIDENCE_WEIGHTS: Final[dict[str, float]] = {
    "platforms": 0.25,
    "campaign_type": 0.15,
    "timeline": 0.15,
    "budget": 0.15,
    "target_audience": 0.15,
    "objectives": 0.10,
    "content_requirements": 0.05,
}


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    platform: str
    negated: bool


def _platform_hits(text: str) -> list[_Hit]:
    """Find platform mentions, longest first at each position, without overlaps, in text order."""
    raw = [
        (m.start(), -(m.end() - m.start()), name, m.end())
        for rx, name in _PLATFORM_RES
        for m in rx.finditer(text)
    ]
    hits: list[_Hit] = []
    for start, _, name, end in sorted(raw):
        if hits and start < hits[-1].end:
            continue
        hits.append(_Hit(start, end, name, bool(_NEGATION.search(text[:start]))))
    for m in _X_RE.finditer(text):
        if _x_in_platform_context(text, m, hits):
            negated = bool(_NEGATION.search(text[: m.start()]))
            hits.append(_Hit(m.start(), m.end(), v.X_PLATFORM, negated))
    return _ads_on_lists(text, sorted(hits, key=lambda h: h.start))


def _ads_on_lists(text: str, hits: list[_Hit]) -> list[_Hit]:
    """Turn "ads on Instagram and TikTok" into the platforms' ad products."""
    out: list[_Hit] = []
    in_ads_list = False
    for hit in hits:
        gap = text[out[-1].end : hit.start] if out else ""
        listed = in_ads_list and bool(out) and bool(_LIST_GAP.fullmatch(gap))
        in_ads_list = listed or bool(_ADS_ON.search(text[: hit.start]))
        product = v.AD_PRODUCTS.get(hit.platform) if in_ads_list else None
        out.append(_Hit(hit.start, hit.end, product, hit.negated) if product else hit)
    return out


def _x_in_platform_context(text: str, m: re.Match[str], hits: list[_Hit]) -> bool:
    before = text[: m.start()]
    if _X_BEFORE.search(before):
        return True
    sep_before = _X_SEP_BEFORE.search(before)
    if sep_before and any(h.end == sep_before.start() for h in hits):
        return True
    sep_after = _X_SEP_AFTER.match(text, m.end())
    return bool(sep_after and sep_after.group().strip() and any(h.start == sep_after.end() for h in hits))


def extract_platforms(text: str, hits: list[_Hit]) -> tuple[list[str], list[str]]:
    """Return the platforms the prompt asks for, in order of first mention, and notes."""
    platforms: list[str] = []
    excluded: list[str] = []
    for hit in hits:
        bucket = excluded if hit.negated else platforms
        if hit.platform not in bucket:
            bucket.append(hit.platform)
    platforms = [p for p in platforms if p not in excluded]
    notes = [f"excluded platform {p} (negated in the prompt)" for p in excluded]
    return platforms, notes


def extract_campaign_type(text: str) -> CampaignType:
    """Return the first campaign type, in priority order, whose words appear in the prompt."""
    for campaign_type, patterns in _TYPE_RES:
        if any(p.search(text) for p in patterns):
            return campaign_type
    return "general"


def extract_objectives(text: str, campaign_type: CampaignType) -> tuple[list[str], bool]:
    """Return objectives from the prompt's words plus those of its type, and whether words evidenced any."""
    stated = {name for name, rx in _OBJECTIVE_RES if rx.search(text)}
    # "general" has only a fallback objective, used when the words give none.
    implied = set(v.TYPE_OBJECTIVES[campaign_type]) if campaign_type != "general" or not stated else set()
    objectives = [name for name in v.OBJECTIVE_ORDER if name in stated | implied]
    return objectives, bool(stated) or campaign_type != "general"


def extract_content(
    text: str, platforms: list[str], campaign_type: CampaignType
) -> tuple[list[ContentType], bool]:
    """Return content types asked for by words, implied by platforms and type; and whether words asked."""
    stated: set[ContentType] = {name for name, rx in _CONTENT_RES if rx.search(text)}
    wanted = set(stated)
    for platform in platforms:
        wanted.update(v.PLATFORM_CONTENT.get(platform, ()))
    wanted.update(v.TYPE_CONTENT.get(campaign_type, ()))
    for content in list(wanted):
        wanted.update(v.CONTENT_IMPLIES.get(content, ()))
    if platforms:
        wanted.add("copy")
    return [c for c in v.CONTENT_ORDER if c in wanted], bool(stated)


def parse_number(raw: str) -> float:
    """Read "2.000", "1,5", "1.200,50", "1,250.50" or "1'200": the last separator is the decimal one
    unless it is followed by exactly three digits (or the same separator occurs more than once)."""
    digits = raw.replace("'", "")
    separators = [c for c in digits if c in ".,"]
    if not separators:
        return float(digits)
    last = separators[-1]
    whole, _, tail = digits.rpartition(last)
    is_decimal = len(tail) != 3 and (separators.count(last) == 1)
    if len(set(separators)) == 2:
        is_decimal = True
    if is_decimal:
        return float(re.sub(r"[.,]", "", whole) + "." + tail)
    return float(re.sub(r"[.,]", "", digits))


def _money_amount(match: re.Match[str]) -> float:
    multiplier = (match["mult"] or match["multw"] or "").lower()
    return round(parse_number(match["num"]) * v.MONEY_MULTIPLIERS.get(multiplier, 1), 2)


def _money_matches(text: str) -> list[re.Match[str]]:
    found: list[re.Match[str]] = []
    for rx in _MONEY_RES:
        for m in rx.finditer(text):
            if all(m.end() <= f.start() or m.start() >= f.end() for f in found):
                found.append(m)
    return sorted(found, key=lambda m: m.start())


def _split_target(text: str, position: int, hits: list[_Hit]) -> str | None:
    connector = _SPLIT_CONNECTOR.match(text, position)
    at = connector.end() if connector else position
    return next((h.platform for h in hits if h.start == at and not h.negated), None)


def extract_budget(text: str, hits: list[_Hit]) -> tuple[Budget, list[str]]:
    """Return the total budget, its currency and any per-platform split the prompt states."""
    notes: list[str] = []
    totals: list[float] = []
    split: dict[str, float] = {}
    currencies: list[str] = []
    for m in _money_matches(text):
        amount = _money_amount(m)
        if not amount:
            continue
        groups = m.groupdict()
        currency = groups.get("code") or groups.get("cur")
        if currency:
            currencies.append(v.CURRENCY_CODES[currency.lower()])
        target = _split_target(text, m.end(), hits)
        if target:
            split[target] = split.get(target, 0.0) + amount
        else:
            totals.append(amount)
    total = totals[0] if totals else (round(sum(split.values()), 2) if split else None)
    if total is not None:
        for pm in _PERCENT_SPLIT.finditer(text):
            target = _split_target(text, pm.end(), hits)
            if target and target not in split:
                split[target] = round(total * float(pm["pct"]) / 100, 2)
    if len(set(currencies)) > 1:
        notes.append(f"the prompt mixes currencies {sorted(set(currencies))}; using {currencies[0]}")
    if total is not None and split and sum(split.values()) > total + 0.005:
        notes.append("the per-platform split adds up to more than the stated total")
    return Budget(amount=total, currency=currencies[0] if currencies else None, split=split), notes


def _ages(text: str, today: date) -> tuple[int | None, int | None]:
    if m := _AGE_RANGE.search(text):
        low, high = int(m["a1"] or m["a2"] or m["a3"]), int(m["b1"] or m["b2"] or m["b3"])
        return min(low, high), max(low, high)
    for pattern, (born_from, born_to) in v.GENERATIONS.items():
        if re.search(rf"\b(?:{pattern})\b", text, _I):
            return today.year - born_to, today.year - born_from
    for pattern, (low_age, high_age) in v.AGE_GROUPS.items():
        if re.search(rf"\b(?:{pattern})\b", text, _I):
            return low_age, high_age
    # A stated minimum ("over 30", "21+") beats the 18 that a plain "adults" implies.
    minimums = [int(m["a"] or m["b"] or 18) for m in _AGE_MIN.finditer(text)]
    under = _AGE_MAX.search(text)
    age_min = max(minimums) if minimums else None
    return age_min, int(under["a"]) if under else None


def _locations(text: str, platform_words: set[str]) -> list[str]:
    found: list[str] = []
    candidates = [p for m in _LOCATION.finditer(text) for p in _LOCATION_SPLIT.split(m["places"])]
    candidates += [m["place"] for m in _BASED.finditer(text)]
    for place in candidates:
        words = place.strip(" .,").split()
        # Keep the leading run of words that look like a place name.
        kept: list[str] = []
        for word in words:
            if word.lower() in v.NOT_LOCATIONS or word.lower() in platform_words or not word[0].isupper():
                break
            kept.append(word)
        name = " ".join(kept)
        if name and name not in found:
            found.append(name)
    return found


def _interests(text: str) -> list[str]:
    found: list[str] = []
    lowered = text.lower()
    for noun, interest in v.INTEREST_NOUNS.items():
        if re.search(rf"\b{re.escape(noun)}\b", lowered) and interest not in found:
            found.append(interest)
    for m in _INTEREST_SUFFIX.finditer(text):
        words = m["words"].lower().split()
        while words and words[0] in v.INTEREST_STOPWORDS:
            words.pop(0)
        interest = " ".join(words)
        if interest and interest not in found:
            found.append(interest)
    for m in _INTERESTED_IN.finditer(text):
        interest = m["what"].lower().removesuffix(" and")
        if interest not in found:
            found.append(interest)
    return found


def extract_audience(text: str, today: date, platform_words: set[str]) -> Audience:
    """Return who the prompt targets: ages, places, interests and customer segments."""
    age_min, age_max = _ages(text, today)
    segments = [name for name, p in v.SEGMENT_PATTERNS if re.search(rf"\b(?:{p})", text, _I)]
    return Audience(
        age_min=age_min,
        age_max=age_max,
        locations=_locations(text, platform_words),
        interests=_interests(text),
        segments=segments,
    )


def required_workflows(
    *,
    platforms: list[str],
    content: list[ContentType],
    campaign_type: CampaignType,
    generate_leads_stated: bool,
    ads: bool,
    scheduled: bool,
) -> list[Capability]:
    """Map platforms, content, type and timing to capabilities, in the vocabulary's fixed order."""
    needed: set[Capability] = {v.CONTENT_CAPABILITY[c] for c in content}
    if any(p in v.SOCIAL_PLATFORMS for p in platforms):
        needed.add("social_publishing")
    if any(p in v.EMAIL_PLATFORMS for p in platforms):
        needed.add("email_campaign")
    if ads or any(p in v.AD_PLATFORMS for p in platforms):
        needed.add("ad_campaign")
    if platforms:
        needed.add("analytics_tracking")
    if campaign_type in v.LEAD_TYPES or generate_leads_stated:
        needed.update(("lead_capture", "crm_sync"))
    if scheduled:
        needed.add("scheduling")
    return [c for c in v.CAPABILITY_ORDER if c in needed]


def campaign_name(text: str, campaign_type: CampaignType) -> str:
    """Name the campaign after what the prompt promotes, e.g. "Spring sneaker drop"."""
    label = v.TYPE_LABELS[campaign_type]
    m = _NAME_RE.search(text)
    words = [w for w in m["obj"].split() if w.lower() != "campaign"] if m else []
    if not words and (noun := _NAME_NOUN_RE.search(text)):
        words = noun["lead"].split()
        while any(_NAME_LEAD_STOP.match(w) for w in words):
            words.pop(0)
        words.append(noun["noun"])
    if not words:
        return label[0].upper() + label[1:] if campaign_type != "general" else "Marketing campaign"
    name = " ".join(words)
    if len(words) == 1 and not re.search(
        r"(?:sale|launch|drop|webinar|event|newsletter|promo\w*)$", name, _I
    ):
        name = f"{name} {label}"
    return name[0].upper() + name[1:]


def confidence(evidenced: dict[str, bool]) -> float:
    """Return the weighted share of facts the prompt evidenced rather than left to defaults.

    confidence = sum(weight[f] for each evidenced fact f), rounded to 2 decimals, with weights
    platforms 0.25; campaign_type, timeline, budget, target_audience 0.15 each; objectives 0.10;
    content_requirements 0.05 (they add up to 1.0). A fact counts as evidenced when the prompt's own
    words produced it: a type other than "general", objectives from words or from such a type,
    explicit content words or at least one platform, any date or duration, a budget amount, any
    audience detail.
    """
    return round(sum(w for fact, w in _CONFIDENCE_WEIGHTS.items() if evidenced.get(fact)), 2)


def missing_facts(plan_facts: dict[str, bool], budget: Budget) -> list[MissingFact]:
    """List the facts that matter and are unknown, each with the question to ask the user."""
    missing = [MissingFact(field=f, question=q) for f, q in v.MISSING_QUESTIONS.items() if not plan_facts[f]]
    if budget.amount is not None and budget.currency is None:
        missing.append(
            MissingFact(
                field="budget.currency", question=f"Which currency is the budget of {budget.amount:g} in?"
            )
        )
    return missing


def plan_offline(prompt: str, *, today: date) -> CampaignPlan:
    """Extract a `CampaignPlan` from `prompt`, resolving dates against `today`."""
    text, notes = correct_typos(re.sub(r"\s+", " ", prompt.replace("\u2019", "'")).strip())
    hits = _platform_hits(text)
    platforms, platform_notes = extract_platforms(text, hits)
    notes += platform_notes
    campaign_type = extract_campaign_type(text)
    objectives, objectives_stated = extract_objectives(text, campaign_type)
    content, content_stated = extract_content(text, platforms, campaign_type)
    timeline, timeline_notes, timeline_stated = resolve_timeline(text, today)
    budget, budget_notes = extract_budget(text, hits)
    platform_words = {w.lower() for h in hits for w in text[h.start : h.end].split()}
    audience = extract_audience(text, today, platform_words)
    # Ad words ask for paid ads; a budget put on a social platform pays for ads there too.
    ads = bool(_AD_WORDS.search(text)) or any(p in v.SOCIAL_PLATFORMS for p in budget.split)
    workflows = required_workflows(
        platforms=platforms,
        content=content,
        campaign_type=campaign_type,
        generate_leads_stated=bool(_LEADS_WORDS.search(text)),
        ads=ads,
        scheduled=timeline.start is not None and timeline.start > today,
    )
    facts = {
        "platforms": bool(platforms),
        "campaign_type": campaign_type != "general",
        "timeline": timeline_stated,
        "budget": budget.amount is not None,
        "target_audience": audience != Audience(),
        "objectives": objectives_stated,
        "content_requirements": content_stated or bool(platforms),
    }
    notes += timeline_notes + budget_notes
    if campaign_type == "general":
        notes.append("no campaign type recognised; using general")
    if not objectives_stated:
        notes.append("objectives default to grow_awareness")
    if budget.amount is not None and not ads:
        notes.append("the budget is not tied to ads, so no ad_campaign workflow was added")
    return CampaignPlan(
        name=campaign_name(text, campaign_type),
        campaign_type=campaign_type,
        objectives=objectives,
        platforms=platforms,
        content_requirements=content,
        timeline=timeline,
        budget=budget,
        target_audience=audience,
        required_workflows=workflows,
        confidence=confidence(facts),
        missing=missing_facts(facts, budget),
        provenance=Provenance(backend="offline", notes=notes),
    )
