"""Read the timeline phrases of a prompt and resolve them against a reference date.

Mentions are found in a fixed order (ranges, ISO and month-day dates, holidays, relative words,
weekdays, "the 15th", month periods, numeric dates through dateparser); a later pattern never reuses
text an earlier one matched. Each single date gets a role from the words before it: "by/until/before"
make it the end, anything else the start. Dates without a year that already passed roll to next year.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final, Literal

import dateparser

from spreaders.planner.offline_text import translate_dates
from spreaders.planner.schemas import Timeline

Role = Literal["start", "end", "period", "context"]

_MONTH_NAMES: Final = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTH_ABBR: Final = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS: Final = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_MONTH: Final = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY: Final = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_NUMBER_WORDS: Final = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "thirty": 30,
    "couple of": 2,
    "a couple of": 2,
    "few": 3,
    "a few": 3,
}
_COUNT: Final = r"(?:\d{1,3}|a\s+couple\s+of|couple\s+of|a\s+few|few|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|thirty)"  # noqa: E501
_END_CUE: Final = re.compile(
    r"\b(?P<cue>by|until|till|through|thru|before|ahead\s+of|no\s+later\s+than|deadline(?:\s+is)?|"
    r"ends?|ending|end\s+on|finish(?:es|ing)?(?:\s+on)?|wrap(?:s|ping)?\s+up(?:\s+on)?)(?:\s*:)?\s+"
    # "until race day, April 19", "until the webinar on March 19": a named occasion, then its date.
    r"(?:(?:(?:the|our|my)\s+)?[\w'-]+(?:\s+[\w'-]+)?(?:,|\s+on)\s+)?(?:the\s+|on\s+)?$",
    re.IGNORECASE,
)
_DAY_BEFORE_CUES: Final = ("before", "ahead")
_START_CUE: Final = re.compile(
    r"\b(?:at|on|from|starting|start|begin(?:ning|s)?|launch(?:es|ing)?\s+at)\s+(?:the\s+)?$", re.IGNORECASE
)
_OCCASION_NOUN: Final = re.compile(
    r"[\s-]+(?:\w+\s+)?(?:sale|deals?|campaign|collection|promo\w*|offers?|specials?|edition|drop|event|gifts?|"
    r"angebote?|aktion)\b",
    re.IGNORECASE,
)
# A holiday named as the heading ("Mother's Day: reels ...") or after "campaign for" names the occasion.
_OCCASION_HEADING: Final = re.compile(r"\s*[:\u2013\u2014]")
_OCCASION_BEFORE: Final = re.compile(
    r"\b(?:sales?|campaigns?|campa[ñn]as?|promos?|promotions?|promoci[oó]n|offers?|deals?|rebajas|ofertas|"
    r"angebote|aktion|kampagne)\s+(?:de|of|for|del|zu[mr]?|f[üu]r)\s+(?:(?:la|el|the|den)\s+)?$",
    re.IGNORECASE,
)
_ONLY: Final = re.compile(r"\s+only\b", re.IGNORECASE)
# A word after "end of the month" that makes it an adjective ("end of year recap"), not a date.
_ADJECTIVE_USE: Final = re.compile(
    r"\s+(?!(?:and|or|to|for|with|on|in|at|via|across|through|using|we|so|but|please|budget|is|was)\b)[a-z]"
)
_MERGE_GAP: Final = re.compile(r"\s*(?:-|\u2013|\u2014|to|until|till|through|thru)\s*", re.IGNORECASE)
_RANGE_SEP: Final = r"\s*(?:-|\u2013|\u2014|to|until|till|through|thru)\s*"


@dataclass
class _Mention:
    span: tuple[int, int]
    start: date | None
    end: date | None
    role: Role


@dataclass
class _Found:
    mentions: list[_Mention] = field(default_factory=list)
    duration_days: int | None = None
    duration_span: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)


def _month_number(word: str) -> int:
    word = word.lower().rstrip(".")
    return _MONTH_NAMES.get(word) or _MONTH_ABBR.get(word[:3], 0)


def _count(word: str) -> int:
    word = re.sub(r"\s+", " ", word.lower())
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _md(p: str) -> str:
    return rf"\b(?P<{p}m>{_MONTH})\.?\s+(?P<{p}d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<{p}y>\d{{4}})\b)?"


def _dm(p: str) -> str:
    year = rf"(?:,?\s+(?P<{p}y>\d{{4}})\b)?"
    return rf"\b(?P<{p}d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<{p}m>{_MONTH})\b\.?{year}"


def _day(p: str) -> str:
    return rf"(?:the\s+)?(?P<{p}d>\d{{1,2}})(?:st|nd|rd|th)?\b"


def _iso(p: str) -> str:
    return rf"\b(?P<{p}y>\d{{4}})-(?P<{p}m>\d{{2}})-(?P<{p}d>\d{{2}})\b"


_RANGES: Final = tuple(
    re.compile(form.format(a=a, sep=_RANGE_SEP, b=b), re.IGNORECASE)
    for form in (r"(?:\bfrom\s+)?{a}{sep}{b}", r"\bbetween\s+{a}\s+and\s+{b}")
    for a, b in (
        (_iso("a"), _iso("b")),
        (_md("a"), _md("b")),
        (_md("a"), _day("b")),
        (_dm("a"), _dm("b")),
        (r"\b(?P<ad>\d{1,2})(?:st|nd|rd|th)?", _dm("b")),
    )
)
_SINGLE_DATES: Final = tuple(re.compile(p, re.IGNORECASE) for p in (_iso(""), _md(""), _dm("")))
_RELATIVE: Final = re.compile(
    r"\b(?:(?P<dat>the\s+day\s+after\s+tomorrow)|(?P<today>today|tonight)|(?P<tomorrow>tomorrow)|"
    r"(?P<nextweek>next\s+week)|(?P<nextmonth>next\s+month)|(?P<weekend>(?:this|next|the)\s+weekend)|"
    r"in\s+(?P<n>" + _COUNT + r")\s+(?P<unit>days?|weeks?))\b",
    re.IGNORECASE,
)
_WEEKDAY_RE: Final = re.compile(
    rf"\b(?:(?P<mod>next|this|coming|this\s+coming)\s+)?(?P<wd>{_WEEKDAY})\b(?!s)", re.I
)
_NTH: Final = re.compile(r"\bthe\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)
_END_OF: Final = re.compile(
    rf"\b(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(?:(?P<month>month)|(?P<year>year)|(?P<week>week)|"
    rf"(?P<named>{_MONTH}))\b",
    re.IGNORECASE,
)
_MONTH_PERIOD: Final = re.compile(
    rf"\b(?:(?P<from>starting(?:\s+in)?|from|beginning(?:\s+(?:of|in))?)|in|during|throughout|all\s+of|over|for)\s+"
    rf"(?:the\s+month\s+of\s+)?(?P<m>{_MONTH})\b(?:\s+(?P<y>\d{{4}})\b)?",
    re.IGNORECASE,
)
_QUARTER: Final = re.compile(
    r"\b(?:(?:(?P<from>starting(?:\s+in)?|from|beginning(?:\s+of)?)|(?P<by>by|until|till|before)|in|during|"
    r"through(?:out)?|for|over|across)\s+(?:the\s+)?)?"
    r"(?:q(?P<q>[1-4])|(?P<qw>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter)(?:\s+(?:of\s+)?(?P<y>\d{4}))?\b",
    re.IGNORECASE,
)
_QUARTER_WORDS: Final = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
}
_NUMERIC_DATE: Final = re.compile(
    r"\b(?:on|from|starting|start|begin(?:ning|s)?|by|until|till|before)\s+(?:the\s+)?"
    r"(?P<date>\d{1,2}[./]\d{1,2}(?:[./](?:\d{4}|\d{2})\b|\.)?)(?![\d.,]*\s*(?:k|m|%|€|\$|£|usd|eur|gbp)\b)",
    re.IGNORECASE,
)
_DURATION: Final = re.compile(
    rf"\b(?:(?:for|over|lasting|runs?\s+for)\s+(?:the\s+(?:next\s+)?|a\s+period\s+of\s+)?(?P<n>{_COUNT})\s+"
    rf"(?P<unit>days?|weeks?|months?)|(?P<n2>\d{{1,3}}|one|two|three|four|five|six|seven|eight|nine|ten)"
    rf"[- ](?P<unit2>day|week|month|hour)\b(?:-long)?|"
    # A bare "two weeks from March 20"; "in two weeks" is a start date and "6 months ago" no duration.
    rf"(?<!\bin\s)(?<!\bwithin\s)(?<!\bevery\s)(?<!\bnext\s)(?<!\blast\s)(?P<n3>{_COUNT})\s+"
    rf"(?P<unit3>days|weeks|months|hours)\b(?!\s+(?:ago|before|after|later|earlier))|"
    rf"(?:for\s+)?(?P<fortnight>a\s+fortnight))\b",
    re.IGNORECASE,
)


def easter(year: int) -> date:
    """Return Western Easter Sunday of `year` (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month = (h + ll - 7 * m + 114) // 31
    day = (h + ll - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _thanksgiving(year: int) -> date:
    return _nth_weekday(year, 11, 3, 4)


HOLIDAYS: Final[tuple[tuple[str, Callable[[int], date]], ...]] = (
    (r"black[\s-]+friday", lambda y: _thanksgiving(y) + timedelta(days=1)),
    (r"cyber[\s-]+monday", lambda y: _thanksgiving(y) + timedelta(days=4)),
    (r"thanksgiving", _thanksgiving),
    (r"christmas\s+eve|xmas\s+eve", lambda y: date(y, 12, 24)),
    (r"christmas(?:\s+day)?|xmas", lambda y: date(y, 12, 25)),
    (r"boxing\s+day", lambda y: date(y, 12, 26)),
    (r"new\s+year'?s\s+eve", lambda y: date(y, 12, 31)),
    (r"new\s+year'?s?(?:\s+day)?", lambda y: date(y, 1, 1)),
    (r"valentine'?s?(?:\s+day)?", lambda y: date(y, 2, 14)),
    (r"st\.?\s+patrick'?s\s+day", lambda y: date(y, 3, 17)),
    (r"easter(?:\s+sunday)?", easter),
    (r"mother'?s\s+day", lambda y: _nth_weekday(y, 5, 6, 2)),
    (r"father'?s\s+day", lambda y: _nth_weekday(y, 6, 6, 3)),
    (r"independence\s+day|(?:the\s+)?fourth\s+of\s+july", lambda y: date(y, 7, 4)),
    (r"halloween", lambda y: date(y, 10, 31)),
)
_HOLIDAY_RES: Final = tuple((re.compile(rf"\b(?:{p})\b", re.IGNORECASE), f) for p, f in HOLIDAYS)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _upcoming(today: date, month: int, day: int, year: str | None) -> date | None:
    """The date `month/day` in `year`, or the next one not before `today` when no year is given."""
    if year:
        return _safe_date(int(year), month, day)
    found = _safe_date(today.year, month, day)
    if found is not None and found < today:
        found = _safe_date(today.year + 1, month, day)
    return found


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


class _Scanner:
    """Collect mentions, refusing text that an earlier mention already used."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found = _Found()

    def free(self, span: tuple[int, int]) -> bool:
        return all(span[1] <= m.span[0] or span[0] >= m.span[1] for m in self.found.mentions) and (
            self.found.duration_span is None
            or span[1] <= self.found.duration_span[0]
            or span[0] >= self.found.duration_span[1]
        )

    def matches(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        for match in pattern.finditer(self.text):
            if self.free(match.span()):
                yield match

    def add(
        self, match: re.Match[str], start: date | None, end: date | None = None, role: Role | None = None
    ) -> None:
        if start is None and end is None:
            return
        if role is None:
            cue = _END_CUE.search(self.text[: match.start()])
            role = "end" if cue else "start"
            if cue and start is not None and cue["cue"].lower().startswith(_DAY_BEFORE_CUES):
                start -= timedelta(days=1)  # "before Christmas" ends on Christmas Eve
            elif not cue and start is not None and end is None and _ONLY.match(self.text, match.end()):
                role, end = "period", start  # "tomorrow only"
        self.found.mentions.append(_Mention(match.span(), start, end, role))


def _month_of(word: str) -> int:
    return int(word) if word.isdigit() else _month_number(word)


def _scan_ranges(scan: _Scanner, today: date) -> None:
    for pattern in _RANGES:
        for m in scan.matches(pattern):
            groups = m.groupdict()
            end_month = _month_of(groups["bm"]) if groups.get("bm") else 0
            start_month = _month_of(groups["am"]) if groups.get("am") else end_month
            end_month = end_month or start_month
            start = _upcoming(today, start_month, int(groups["ad"]), groups.get("ay") or groups.get("by"))
            if start is None:
                continue
            end_year = int(groups["by"]) if groups.get("by") else start.year
            end = _safe_date(end_year, end_month, int(groups["bd"]))
            if end is not None and end < start and not groups.get("by"):
                end = _safe_date(end_year + 1, end_month, int(groups["bd"]))
            if end is not None:
                scan.add(m, start, end, "period")


def _scan_single_dates(scan: _Scanner, today: date) -> None:
    for pattern in _SINGLE_DATES:
        for m in scan.matches(pattern):
            month = int(m["m"]) if m["m"].isdigit() else _month_number(m["m"])
            day = _upcoming(today, month, int(m["d"]), m["y"])
            # "the July 4th sale" names the occasion, like a holiday does.
            occasion = _OCCASION_NOUN.match(scan.text, m.end())
            scan.add(m, day, day if occasion else None, "context" if occasion else None)
    for m in scan.matches(_END_OF):
        if _ADJECTIVE_USE.match(scan.text, m.end()):
            continue  # "end of year recap"
        if m["month"]:
            end = _month_end(today.year, today.month)
        elif m["year"]:
            end = date(today.year, 12, 31)
        elif m["week"]:
            end = today + timedelta(days=6 - today.weekday())
        else:
            month = _month_number(m["named"])
            year = today.year if month >= today.month else today.year + 1
            end = _month_end(year, month)
        if _START_CUE.search(scan.text[: m.start()]):
            scan.add(m, end, None, "start")  # "launch at the end of the month"
        else:
            scan.add(m, None, end, "end")


def _scan_holidays(scan: _Scanner, today: date) -> None:
    for pattern, resolve in _HOLIDAY_RES:
        for m in scan.matches(pattern):
            day = resolve(today.year)
            day = day if day >= today else resolve(today.year + 1)
            # "a Black Friday sale" names the occasion; it dates the campaign only if nothing else does.
            occasion = (
                _OCCASION_NOUN.match(scan.text, m.end())
                or _OCCASION_HEADING.match(scan.text, m.end())
                or _OCCASION_BEFORE.search(scan.text[: m.start()])
            )
            role: Role | None = "context" if occasion else None
            scan.add(m, day, day if role else None, role)


def _scan_relative(scan: _Scanner, today: date) -> None:
    monday = today - timedelta(days=today.weekday())
    for m in scan.matches(_RELATIVE):
        if m["dat"]:
            scan.add(m, today + timedelta(days=2))
        elif m["today"]:
            scan.add(m, today)
        elif m["tomorrow"]:
            scan.add(m, today + timedelta(days=1))
        elif m["nextweek"]:
            scan.add(m, monday + timedelta(days=7))
        elif m["nextmonth"]:
            scan.add(m, _add_months(today.replace(day=1), 1))
        elif m["weekend"]:
            saturday = monday + timedelta(days=5 + (7 if m["weekend"].lower().startswith("next") else 0))
            scan.add(m, max(saturday, today), saturday + timedelta(days=1), "period")
        else:
            days = _count(m["n"]) * (7 if m["unit"].lower().startswith("week") else 1)
            scan.add(m, today + timedelta(days=days))
    for m in scan.matches(_WEEKDAY_RE):
        weekday = _WEEKDAYS[m["wd"].lower()]
        mod = (m["mod"] or "").lower()
        if mod == "next":  # the named day of next week, never today
            scan.add(m, monday + timedelta(days=7 + weekday))
        elif mod == "this":  # the named day of this week, or its next occurrence once it has passed
            scan.add(m, today + timedelta(days=(weekday - today.weekday()) % 7))
        else:  # "on Friday", "this coming Friday": the next occurrence after today
            scan.add(m, today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1))
    for m in scan.matches(_NTH):
        day = int(m["d"])
        found = _safe_date(today.year, today.month, day)
        if found is None or found < today:
            following = _add_months(today.replace(day=1), 1)
            found = _safe_date(following.year, following.month, day)
        scan.add(m, found)


def _scan_periods(scan: _Scanner, today: date) -> None:
    for m in scan.matches(_QUARTER):
        quarter = int(m["q"]) if m["q"] else _QUARTER_WORDS[m["qw"].lower()]
        first = date(int(m["y"]) if m["y"] else today.year, 3 * quarter - 2, 1)
        last = _month_end(first.year, 3 * quarter)
        if not m["y"] and last < today:
            first, last = first.replace(year=first.year + 1), _month_end(first.year + 1, 3 * quarter)
        if m["from"]:
            scan.add(m, first, None, "start")
        elif m["by"]:
            scan.add(m, None, first - timedelta(days=1) if m["by"].lower() == "before" else last, "end")
        else:
            scan.add(m, max(first, today), last, "period")
    for m in scan.matches(_MONTH_PERIOD):
        month = _month_number(m["m"])
        year = int(m["y"]) if m["y"] else (today.year if month >= today.month else today.year + 1)
        start = date(year, month, 1)
        start = max(start, today) if not m["y"] else start
        if m["from"]:
            scan.add(m, start, None, "start")  # "starting in April": open-ended
        else:
            scan.add(m, start, _month_end(year, month), "period")
    for m in scan.matches(_NUMERIC_DATE):
        settings = {
            "RELATIVE_BASE": datetime.combine(today, datetime.min.time()),
            "PREFER_DATES_FROM": "future",
            "DATE_ORDER": "DMY",
            "REQUIRE_PARTS": ["day", "month"],
        }
        parsed: datetime | None = dateparser.parse(m["date"], languages=["en"], settings=settings)
        if parsed is not None:
            scan.add(m, parsed.date())


def _scan_duration(scan: _Scanner) -> None:
    for m in scan.matches(_DURATION):
        if m["fortnight"]:
            days = 14
        else:
            count = _count(m["n"] or m["n2"] or m["n3"])
            unit = (m["unit"] or m["unit2"] or m["unit3"]).lower()
            if unit.startswith("hour"):
                days = -(-count // 24)
            else:
                days = count * (7 if unit.startswith("week") else 30 if unit.startswith("month") else 1)
        if days > 0:
            scan.found.duration_days, scan.found.duration_span = days, m.span()
            return


def _merge_ranges(text: str, mentions: list[_Mention]) -> list[_Mention]:
    """Join "A until B", "A - B" of two single mentions ("this Friday until October 31") into a period."""
    merged: list[_Mention] = []
    for mention in mentions:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.role in ("start", "context")
            and last.start is not None
            and mention.role in ("start", "end", "context")
            and _MERGE_GAP.fullmatch(text, last.span[1], mention.span[0])
        ):
            end = mention.end or mention.start
            if end is not None and end >= last.start:
                merged[-1] = _Mention((last.span[0], mention.span[1]), last.start, end, "period")
                continue
        merged.append(mention)
    return merged


def resolve_timeline(text: str, today: date) -> tuple[Timeline, list[str], bool]:
    """Read the timeline of `text` relative to `today`; return it, notes, and whether the prompt gave one."""
    translated = translate_dates(text)
    scan = _Scanner(translated.text)
    _scan_duration(scan)
    _scan_ranges(scan, today)
    _scan_single_dates(scan, today)
    _scan_holidays(scan, today)
    _scan_relative(scan, today)
    _scan_periods(scan, today)
    found, notes = scan.found, scan.found.notes
    mentions = _merge_ranges(translated.text, sorted(found.mentions, key=lambda m: m.span))
    start: date | None = None
    end: date | None = None
    period = next((m for m in mentions if m.role == "period"), None)
    if period is None and all(m.role == "context" for m in mentions):
        period = next(iter(mentions), None)
    if period is not None:
        start, end = period.start, period.end
    else:
        start = next((m.start for m in mentions if m.role == "start"), None)
        end = next((m.end or m.start for m in mentions if m.role == "end"), None)
    duration = found.duration_days
    if start is None and (end is not None or duration is not None):
        start = today
        notes.append(f"timeline start defaults to the reference date {today.isoformat()}")
    if start is not None and end is not None and end < start:
        notes.append(f"ignored an end date {end.isoformat()} before the start {start.isoformat()}")
        end = None
    if start is not None and end is None and duration is not None:
        if found.duration_span and re.search(r"month", translated.text[slice(*found.duration_span)], re.I):
            months = duration // 30
            end = _add_months(start, months) - timedelta(days=1)
            duration = (end - start).days + 1
        else:
            end = start + timedelta(days=duration - 1)
    elif start is not None and end is not None:
        duration = (end - start).days + 1
    used = [m.span for m in mentions if m.role != "context" or m is period]
    spans = sorted(used + ([found.duration_span] if found.duration_span else []))
    phrase = ", ".join(text[slice(*translated.original(span))].strip() for span in spans)
    evidenced = bool(spans)
    return Timeline(start=start, end=end, duration_days=duration, text=phrase), notes, evidenced
