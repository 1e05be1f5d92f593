"""Which full-text matches a search can skip ranking without changing its candidates (max-score pruning).

A broad search (`email`, `ai`, `post` match a third of a catalogue each) spent most of its time
ranking every match, though only the best `depth` (by every-term-first, then relevance) become
candidates. Both engines' relevance is a sum over the query's terms of parts with a known upper
bound, so matches that hold only some terms can be proven unable to reach the candidates:

- SQLite, bm25: a term's part is below 2.2 x its idf (FTS5: k1 = 1.2, idf from the term's hit count
  and the index's row count; the term frequency part tf (k1 + 1) / (tf + k1 (1 - b + b d / avgdl))
  stays under k1 + 1). The low-idf terms whose bounds sum to less than the worst candidate's
  relevance are "non-essential": a match holding none of the other terms cannot beat that
  candidate. The search ranks only matches holding an essential term.
- PostgreSQL, ts_rank (OR query, no normalisation): each query lexeme's part is at most the weight
  of its first position divided by the number of query lexemes, because `workflow_templates_search_vector`
  puts name (A) before description (B) before body (C), so a lexeme's weights never rise along its
  positions (calc_rank_or's sum is then below w0 x (pi^2/6) / 1.64493406685). A match holding one term
  ranks at most 1 / lexemes; the search ranks only matches holding two terms or more.

Templates holding every term are never pruned (they are a tier above the rest). The statement
reports the worst pruned candidate's relevance; the search checks it beats the bound and runs
unpruned otherwise, so the candidates are always the same as without pruning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Integer, Select, select, text

from spreaders.registry.fulltext import FTS_TABLE, fts5_query

BM25_K1: Final = 1.2
# A pruned search is exact only if its worst candidate beats the bound by more than rounding.
MARGIN: Final = 1e-6
# Pruning pays only when the matches far outnumber the candidates.
MIN_HITS_PER_CANDIDATE: Final = 4
# Before a run, the worst candidate's relevance is guessed as this share of the rarest term's bound.
GUESS: Final = 0.75
# PostgreSQL: with fewer terms the one-term bound (1 / terms) is rarely beaten, and a failed pruned
# run is paid on top of the full one; pairs of terms grow as n^2, so past a few the pairs query
# costs more than it saves.
MIN_PAIRED_TERMS: Final = 5
MAX_PAIRED_TERMS: Final = 6


@dataclass(frozen=True)
class Plan:
    """A pruned search: on SQLite which terms are essential and the bound on the others' relevance."""

    essential: tuple[int, ...] = ()
    bound: float = 0.0


def term_hits(term_count: int) -> Select[Any]:
    """SQLite: the FTS5 index's row count and each term's hit count (bm25's idf inputs), one round trip."""
    # FTS5 keeps one docsize row per indexed row: its count is the N of bm25's idf.
    rows = text(f"SELECT count(*) FROM {FTS_TABLE}_docsize").columns(n=Integer)
    columns = [rows.scalar_subquery().label("rows")]
    for i in range(term_count):
        hits = text(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :hit_{i}")
        columns.append(hits.columns(n=Integer).scalar_subquery().label(f"hits_{i}"))
    return select(*columns)


def term_hit_parameters(words: Sequence[str]) -> dict[str, str]:
    return {f"hit_{i}": fts5_query([word], operator="OR") for i, word in enumerate(words)}


def bm25_bound(rows: int, hits: int) -> float:
    """The most one term can add to FTS5's bm25 (fts5Bm25Function's idf times k1 + 1)."""
    idf = math.log((rows - hits + 0.5) / (hits + 0.5))
    return (BM25_K1 + 1) * (idf if idf > 0 else 1e-6)


def plan_sqlite(rows: int, hits: Sequence[int], *, depth: int, worst: float | None = None) -> Plan | None:
    """Choose the terms to drop: the commonest, while their bounds sum to less than the worst
    candidate's relevance (`worst`, from a first plan's run) or, before any run, than a guess of it.

    None when nothing can be dropped, or when the matches are too few for pruning to pay.
    """
    if len(hits) < 2 or sum(hits) < MIN_HITS_PER_CANDIDATE * depth:
        return None
    bounds = [bm25_bound(rows, n) for n in hits]
    if worst is None:
        # The worst candidate usually holds the rarest term or two commoner ones; on the relevance
        # set at 1,500 and 10,000 templates it scored 0.6-1.6 times the rarest term's bound.
        worst = GUESS * max(bounds)
    dropped: list[int] = []
    total = 0.0
    for i in sorted(range(len(hits)), key=lambda i: (bounds[i], i)):
        if total + bounds[i] >= worst / (1 + MARGIN):
            break
        total += bounds[i]
        dropped.append(i)
    if not dropped or len(dropped) == len(hits):
        return None
    essential = tuple(i for i in range(len(hits)) if i not in dropped)
    return Plan(essential=essential, bound=total)


def essential_parameters(words: Sequence[str], plan: Plan) -> dict[str, str]:
    return {"fts_essential": fts5_query([words[i] for i in plan.essential], operator="OR")}


def postgresql_prunable(words: Sequence[str], folded: Sequence[bool]) -> bool:
    """Whether the one-term bound holds: single words (one lexeme each), no unaccented variants."""
    single_words = all(" " not in word for word in words)
    return MIN_PAIRED_TERMS <= len(words) <= MAX_PAIRED_TERMS and single_words and not any(folded)


def exact(worst: float | None, bound: float) -> bool:
    """Whether the worst candidate (None: all hold every term) beats every pruned match."""
    return worst is None or worst > bound * (1 + MARGIN) + MARGIN
