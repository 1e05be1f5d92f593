"""Prompt text clean-up for the offline planner: platform-name typos, and German/Spanish date phrases.

`correct_typos` rewrites misspelt platform names ("instgram", "Facebok", "newsleter") to the real
name before any extraction. `translate_dates` rewrites German and Spanish date words into the English
ones `timeline.py` reads ("nächsten Montag" -> "next Monday", "del 1 al 15 de febrero" ->
"from 1 to 15 February") and keeps a map back to the original text, so the plan quotes the user's words.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from spreaders.planner import vocabulary as v

_WORD: Final = re.compile(r"[^\W\d_]{5,}")
_TYPO_FIRST_LETTERS: Final = frozenset(t[0] for t in v.TYPO_TARGETS)


def within_edit_distance(a: str, b: str, limit: int) -> bool:
    """Return whether the Levenshtein distance of `a` and `b` is at most `limit`."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


@lru_cache(maxsize=4096)
def _typo_target(word: str) -> str | None:
    if word in v.TYPO_TARGETS or word in v.NOT_TYPOS or word[0] not in _TYPO_FIRST_LETTERS:
        return None
    for target in v.TYPO_TARGETS:
        # A typo keeps the first letter; long names tolerate two slips, short ones one.
        limit = 2 if len(target) >= 9 else 1
        if target[0] == word[0] and within_edit_distance(word, target, limit):
            return target
    return None


def correct_typos(text: str) -> tuple[str, list[str]]:
    """Rewrite misspelt platform names to the real name; return the text and a note per correction."""
    notes: list[str] = []

    def fix(match: re.Match[str]) -> str:
        word = match.group()
        target = _typo_target(word.lower())
        if target is None:
            return word
        notes.append(f"read {word!r} as {target}")
        return target

    return _WORD.sub(fix, text), notes


def _words(*names: str) -> str:
    return "|".join(names)


_MONTHS_DE: Final = {
    "januar": "January",
    "jänner": "January",
    "februar": "February",
    "märz": "March",
    "maerz": "March",
    "mai": "May",
    "juni": "June",
    "juli": "July",
    "oktober": "October",
    "dezember": "December",
}
_MONTHS_ES: Final = {
    "enero": "January",
    "febrero": "February",
    "marzo": "March",
    "abril": "April",
    "mayo": "May",
    "junio": "June",
    "julio": "July",
    "agosto": "August",
    "septiembre": "September",
    "setiembre": "September",
    "octubre": "October",
    "noviembre": "November",
    "diciembre": "December",
}
_WEEKDAYS_DE: Final = {
    "montag": "Monday",
    "dienstag": "Tuesday",
    "mittwoch": "Wednesday",
    "donnerstag": "Thursday",
    "freitag": "Friday",
    "samstag": "Saturday",
    "sonnabend": "Saturday",
    "sonntag": "Sunday",
}
_WEEKDAYS_ES: Final = {
    "lunes": "Monday",
    "martes": "Tuesday",
    "miércoles": "Wednesday",
    "miercoles": "Wednesday",
    "jueves": "Thursday",
    "viernes": "Friday",
    "sábado": "Saturday",
    "sabado": "Saturday",
    "domingo": "Sunday",
}
_NUMBERS: Final = {
    "ein": "a",
    "eine": "a",
    "einen": "a",
    "zwei": "two",
    "drei": "three",
    "vier": "four",
    "fünf": "five",
    "sechs": "six",
    "sieben": "seven",
    "acht": "eight",
    "neun": "nine",
    "zehn": "ten",
    "un": "a",
    "una": "a",
    "dos": "two",
    "tres": "three",
    "cuatro": "four",
    "cinco": "five",
    "seis": "six",
    "siete": "seven",
    "ocho": "eight",
    "nueve": "nine",
    "diez": "ten",
    "quince": "15",
}
_ALL_MONTHS: Final = _words(*_MONTHS_DE, *_MONTHS_ES, "april", "august", "september", "november")
_WD_DE: Final = _words(*_WEEKDAYS_DE)
_WD_ES: Final = _words(*_WEEKDAYS_ES)
_UNIT_DE: Final = r"wochen|woche|tagen|tage|tag|monaten|monate|monat"
_UNIT_ES: Final = r"semanas|semana|d[ií]as|d[ií]a|meses|mes"
_NUM_WORD: Final = _words(*_NUMBERS)
_QUARTERS: Final = (
    (r"erste[nmrs]?\s+quartal|(?:el\s+)?(?:primer|1er)\s+trimestre", "Q1"),
    (r"zweite[nmrs]?\s+quartal|(?:el\s+)?segundo\s+trimestre", "Q2"),
    (r"dritte[nmrs]?\s+quartal|(?:el\s+)?tercer\s+trimestre", "Q3"),
    (r"vierte[nmrs]?\s+quartal|(?:el\s+)?cuarto\s+trimestre", "Q4"),
)

# (pattern, English replacement); earlier rules win at the same position, so longer phrases come first.
_RULES: Final[tuple[tuple[str, str], ...]] = (
    (
        r"(?:nächste[nrms]?|kommende[nrms]?)\s+woche|(?:la\s+)?semana\s+que\s+viene|(?:la\s+)?pr[oó]xima\s+semana",
        "next week",
    ),
    (
        r"(?:nächste[nrms]?|kommende[nrms]?)\s+monat|(?:el\s+)?mes\s+que\s+viene|(?:el\s+)?pr[oó]ximo\s+mes",
        "next month",
    ),
    (r"nächste[nrms]?\s+wochenende|(?:el\s+)?pr[oó]ximo\s+fin\s+de\s+semana", "next weekend"),
    (r"(?:am|an\s+diesem|diese[ns]?|übers)\s+wochenende|(?:este|el)\s+fin\s+de\s+semana", "this weekend"),
    (
        r"ende\s+(?:des|dieses)\s+monats|monatsende|(?:a\s+)?(?:fin(?:al)?|finales)\s+de(?:l)?\s+mes",
        "the end of the month",
    ),
    (
        r"ende\s+(?:des|dieses)\s+jahres|jahresende|(?:a\s+)?(?:fin(?:al)?|finales)\s+de(?:l)?\s+a[ñn]o",
        "the end of the year",
    ),
    (r"übermorgen|pasado\s+mañana", "the day after tomorrow"),
    (r"heute|hoy", "today"),
    (r"morgen|mañana", "tomorrow"),
    *_QUARTERS,
    (r"weihnachten|navidad(?:es)?", "Christmas"),
    (r"heiligabend|nochebuena", "Christmas Eve"),
    (r"silvester|nochevieja", "New Year's Eve"),
    (r"neujahr(?:stag)?|a[ñn]o\s+nuevo", "New Year's Day"),
    (r"ostern|ostersonntag|domingo\s+de\s+pascua", "Easter"),
    (r"valentinstag|(?:d[ií]a\s+de\s+)?san\s+valent[ií]n", "Valentine's Day"),
    (r"muttertag", "Mother's Day"),
    (r"bis\s+(?:zum|zur|spätestens)|bis|hasta\s+el|hasta", "until"),
    (r"a\s+partir\s+del?|desde\s+el|desde|ab\s+(?:dem|der|den)|ab(?=\s)|vom|von(?=\s+\d)", "from"),
    (r"del(?=\s+\d)", "from"),
    (r"al(?=\s+\d)", "to"),
    (rf"(?:nächsten|nächster|nächste|kommenden)(?=\s+(?:{_WD_DE}))", "next"),
    (rf"(?:el\s+)?(?:pr[oó]ximo|siguiente)(?=\s+(?:{_WD_ES}))", "this coming"),
    (rf"(?:diesen|este)(?=\s+(?:{_WD_DE}|{_WD_ES}))", "this"),
    (rf"(?:am|el)(?=\s+(?:\d|{_WD_DE}|{_WD_ES}))", "on"),
    (rf"(?:im|en)(?=\s+(?:{_ALL_MONTHS}|Q\d)\b)", "in"),
    (rf"(?:für|durante|während)(?=\s+(?:\d|{_NUM_WORD})\s+(?:{_UNIT_DE}|{_UNIT_ES})\b)", "for"),
    (r"durante|während", "during"),
    (rf"de(?=\s+(?:{_ALL_MONTHS}|\d{{4}})\b)", ""),
    (r"(?<=\d)\.(?=\s*(?:(?:" + _ALL_MONTHS + r"|bis|und|al|to|until)\b|[-\u2013]))", ""),
    *((rf"{word}(?=\s+(?:{_UNIT_DE}|{_UNIT_ES})\b)", english) for word, english in _NUMBERS.items()),
    (r"(?:wochen|semanas)(?:\s+lang)?", "weeks"),
    (r"(?:woche|semana)(?:\s+lang)?", "week"),
    (r"(?:tagen|tage|d[ií]as)(?:\s+lang)?", "days"),
    (r"(?<=\d\s)(?:tag|d[ií]a)(?:\s+lang)?", "day"),
    (r"(?:monaten|monate|meses)(?:\s+lang)?", "months"),
    (r"(?:monat|mes)(?:\s+lang)?", "month"),
    *((name, english) for name, english in _MONTHS_DE.items()),
    *((name, english) for name, english in _MONTHS_ES.items()),
    *((name, english) for name, english in _WEEKDAYS_DE.items()),
    *((name, english) for name, english in _WEEKDAYS_ES.items()),
)
# Words only a German or Spanish date phrase has; a prompt without any is left as it is (most prompts,
# and the one big pattern below is the planner's slowest step).
_TRIGGERS: Final = frozenset(
    {
        *_MONTHS_DE,
        *_MONTHS_ES,
        *_WEEKDAYS_DE,
        *_WEEKDAYS_ES,
        *(word for word in _NUMBERS if len(word) > 3),
        *[
            "woche",
            "wochen",
            "wochenende",
            "tag",
            "tage",
            "tagen",
            "monat",
            "monate",
            "monaten",
            "semana",
            "semanas",
            "día",
            "días",
            "dia",
            "dias",
        ],
        *[
            "mes",
            "meses",
            "monatsende",
            "jahresende",
            "ende",
            "fin",
            "final",
            "finales",
            "quartal",
            "trimestre",
            "übermorgen",
            "pasado",
        ],
        *[
            "heute",
            "hoy",
            "morgen",
            "mañana",
            "weihnachten",
            "navidad",
            "navidades",
            "heiligabend",
            "nochebuena",
            "silvester",
        ],
        *[
            "nochevieja",
            "neujahr",
            "neujahrstag",
            "año",
            "ano",
            "ostern",
            "ostersonntag",
            "pascua",
            "valentinstag",
            "valentín",
        ],
        *[
            "valentin",
            "muttertag",
            "bis",
            "hasta",
            "desde",
            "partir",
            "ab",
            "vom",
            "von",
            "del",
            "al",
            "am",
            "im",
            "el",
            "en",
            "für",
            "durante",
            "während",
            "de",
        ],
        *[
            "nächste",
            "nächsten",
            "nächster",
            "nächstes",
            "nächstem",
            "kommende",
            "kommenden",
            "próximo",
            "proximo",
            "próxima",
        ],
        *["proxima", "siguiente", "diesen", "este"],
    }
)
_TEXT_WORDS: Final = re.compile(r"[^\W\d_]+")
# Words a rule can begin with besides the triggers; rules are tried only where one of these starts.
_FIRST_WORDS: Final = _TRIGGERS | frozenset(
    [
        *_NUMBERS,
        *["la", "an", "a", "diese", "dieses", "übers", "san", "domingo", "primer", "segundo", "tercer"],
        *["cuarto", "erste", "ersten", "erster", "erstes", "zweite", "zweiten", "zweiter", "zweites"],
        *["dritte", "dritten", "dritter", "drittes", "vierte", "vierten", "vierter", "viertes"],
    ]
)
_RULE_STARTS: Final = re.compile(r"(?<![\w.])[^\W\d_]+|(?<=\d)\.")
_WORD_START: Final = r"(?<![\w.])"
_RULES_RE: Final = re.compile(
    "|".join(
        # A rule that states its own left context (the day's dot after digits) skips the word boundary.
        rf"(?P<r{i}>{'' if pattern.startswith('(?<=') else _WORD_START}(?:{pattern})(?!\w))"
        for i, (pattern, _) in enumerate(_RULES)
    ),
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Translated:
    """English-worded text and the map from its positions back to the original's."""

    text: str
    new_starts: tuple[int, ...]
    segments: tuple[tuple[int, int, int, int, bool], ...]  # new start/end, old start/end, replaced

    def original(self, span: tuple[int, int]) -> tuple[int, int]:
        """Return the span of the original text that the translated `span` came from."""
        return self._map(span[0], at_end=False), self._map(span[1], at_end=True)

    def _map(self, position: int, *, at_end: bool) -> int:
        index = max(bisect.bisect_right(self.new_starts, position) - 1, 0)
        if at_end and position == self.new_starts[index] and index > 0:
            index -= 1  # an end position belongs to the segment it closes
        new_start, _, old_start, old_end, replaced = self.segments[index]
        if not replaced:
            return old_start + min(position - new_start, old_end - old_start)
        return old_start if position <= new_start and not at_end else old_end


def translate_dates(text: str) -> Translated:
    """Rewrite German and Spanish date words into English, remembering where each piece came from."""
    if _TRIGGERS.isdisjoint(_TEXT_WORDS.findall(text.lower())):
        return Translated(text, (0,), ((0, len(text), 0, len(text), False),))
    pieces: list[str] = []
    segments: list[tuple[int, int, int, int, bool]] = []
    new_pos = old_pos = 0
    for start in _RULE_STARTS.finditer(text):
        word = start.group().lower()
        if start.start() < old_pos or (word != "." and word not in _FIRST_WORDS):
            continue
        m = _RULES_RE.match(text, start.start())
        if m is None:
            continue
        if m.start() > old_pos:
            kept = text[old_pos : m.start()]
            segments.append((new_pos, new_pos + len(kept), old_pos, m.start(), False))
            pieces.append(kept)
            new_pos += len(kept)
        replacement = _RULES[int(m.lastgroup[1:])][1] if m.lastgroup else m.group()
        segments.append((new_pos, new_pos + len(replacement), m.start(), m.end(), True))
        pieces.append(replacement)
        new_pos += len(replacement)
        old_pos = m.end()
    segments.append((new_pos, new_pos + len(text) - old_pos, old_pos, len(text), False))
    pieces.append(text[old_pos:])
    return Translated("".join(pieces), tuple(s[0] for s in segments), tuple(segments))
