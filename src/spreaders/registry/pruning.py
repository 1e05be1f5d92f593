"""Which full-text matches a PostgreSQL search can skip ranking without changing its candidates.

A broad search (`email`, `ai`, `post` each match a third of a catalogue) spent most of its time in
ts_rank, once for every match, though only the best `depth` (every-term-first, then relevance)
become candidates. ts_rank of an OR query (no normalisation) is a sum over the query's lexemes
divided by their number, and a lexeme's part is at most the weight of its first position, because
`workflow_templates_search_vector` puts name (A) before description (B) before body (C): a lexeme's
weights never rise along its positions, so calc_rank_or's sum stays below w0 x (pi^2/6) / 1.64493406685.
A template holding one of the query's words therefore ranks at most 1 / lexemes, and the search ranks
only the matches holding two words or more. Templates holding every word are never left out (they
are a tier above the rest).

The statement reports its worst candidate (not holding every word) and the bound; the search checks
the candidate beats the bound, or that every match was kept, and runs unpruned otherwise, so the
candidates are always those of ranking every match. With fewer than five words the bound (1/4 and
up) was rarely beaten on the relevance set at 10,000 templates and the failed run was paid on top.

SQLite was tried the same way (bm25's per-term bound 2.2 x idf from each term's hit count) and
left out: see docs/search.md, Speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

# A pruned search is exact only if its worst candidate beats the bound by more than rounding
# (ts_rank is a float4).
MARGIN: Final = 1e-6
MIN_WORDS: Final = 5
# Pairs of words grow as n^2: past a few, testing every pair costs more than it saves.
MAX_WORDS: Final = 6
# Below this many indexed templates few matches hold two words and the proof rarely held: at 1,506
# templates it never did on the relevance set (the failed run doubled those searches' time), at
# 10,000 it halved the server's time for them.
MIN_ROWS: Final = 5000


def prunable(words: Sequence[str], folded: Sequence[bool]) -> bool:
    """Whether the one-word bound holds and pays: five or six single words, no unaccented variants
    (a phrase or a variant puts more than one lexeme behind one word)."""
    single_words = all(" " not in word for word in words)
    return MIN_WORDS <= len(words) <= MAX_WORDS and single_words and not any(folded)


def proven(*, found: int, total: int, depth: int, worst: float | None, bound: float, cap: int) -> bool:
    """Whether a pruned search's candidates are those of ranking every match: it kept every match
    (`total` counts them up to `cap`), or it found `depth` candidates and the worst of those not
    holding every word (None: all do) beats every match it left out."""
    if found == total <= cap:
        return True
    return found >= depth and (worst is None or worst > bound * (1 + MARGIN) + MARGIN)
