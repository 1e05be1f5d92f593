"""Which full-text matches a PostgreSQL search can skip ranking without changing its candidates.

A broad search (`email`, `ai`, `post` each match a third of a catalogue) spent most of its time in
ts_rank, once for every match, though only the best `depth` (every-term-first, then relevance)
become candidates. ts_rank of an OR query (no normalisation) is a sum over the query's lexemes
divided by their number, and a lexeme's part is at most the weight of its first position, because
`workflow_templates_search_vector` puts name (A) before description (B) before body (C): a lexeme's
weights never rise along its positions, so calc_rank_or's sum stays below w0 x (pi^2/6) / 1.64493406685.
A template that holds none of the query's words in its name or description (the vector's A and B
positions, `ts_filter(search_vector, '{a,b}')`, GIN-indexed by migration 0015) and does not hold
every word holds at most n - 1 of the n lexemes, each at weight C (0.2): it ranks at most
0.2 x (n - 1) / n. The search ranks only the matches holding a word in their name or description,
or every word (two GIN tests, no recheck); templates holding every word are never left out (they
are a tier above the rest).

The statement reports its worst candidate (not holding every word) and the bound; the search checks
the candidate beats the bound, or that every match was kept, and runs unpruned otherwise, so the
candidates are always those of ranking every match. A pruned search counts the matches apart, up to
the total's cap (see `spreaders.registry.search`).

SQLite was tried the same way (bm25's per-term bound 2.2 x idf from each term's hit count) and
left out: see docs/search.md, Speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

# A pruned search is exact only if its worst candidate beats the bound by more than rounding
# (ts_rank is a float4).
MARGIN: Final = 1e-6
# With one word every match holds every word: there is nothing to leave out.
MIN_WORDS: Final = 2
# ts_rank's default weight of a C position (the body; A and B are name and description).
BODY_WEIGHT: Final = 0.2
# The part of the vector the kept matches hold a word in: exactly the index expression of
# migration 0015, which the planner matches by its text.
HEAD_WEIGHTS: Final = "'{a,b}'::\"char\"[]"
# Below this many indexed templates the proof held for only half of the relevance set's requests
# (1,506 templates: the 50th candidate ranks lower), and a failed run is paid on top of the full one.
MIN_ROWS: Final = 5000


def prunable(words: Sequence[str], folded: Sequence[bool]) -> bool:
    """Whether the bound holds: two words or more, each a single word without an unaccented variant
    (each then one lexeme: a phrase can hold its lexemes apart from each other, and then one of them
    in the name without matching the name's vector)."""
    single_words = all(" " not in word for word in words)
    return len(words) >= MIN_WORDS and single_words and not any(folded)


def proven(*, found: int, total: int, depth: int, worst: float | None, bound: float, cap: int) -> bool:
    """Whether a pruned search's candidates are those of ranking every match: it kept every match
    (`total` counts them up to `cap`), or it found `depth` candidates and the worst of those not
    holding every word (None: all do) beats every match it left out."""
    if found == total <= cap:
        return True
    return found >= depth and (worst is None or worst > bound * (1 + MARGIN) + MARGIN)
