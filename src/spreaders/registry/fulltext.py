"""Full-text search over workflow templates in each database's own engine, behind one interface.

SQLite: the FTS5 table `workflow_templates_fts` (external content on the templates' rowid, porter
stemming, kept in step by triggers; see migration 0002), ranked by bm25 with column weights.
PostgreSQL: the column `search_vector` of the facets table (name A, description B, body C, 'english',
kept by triggers; see migration 0004) with a GIN index, ranked by ts_rank. User text never reaches
either query language: it is cut into word terms that are bound as parameters (PostgreSQL) or
double-quoted phrases of letters and digits only (FTS5).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    ColumnElement,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    any_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from spreaders.db.base import JsonType
from spreaders.registry import pruning

FTS_TABLE: Final = "workflow_templates_fts"
FACETS_TABLE: Final = "workflow_templates_fts_facets"
# bm25 weights for the FTS5 columns (name, description, search_text), close to PostgreSQL's
# ts_rank defaults for A / B / C (1.0 / 0.4 / 0.2). search_text repeats name and description.
BM25_WEIGHTS: Final = (5.0, 2.0, 1.0)
TS_CONFIG: Final = "english"
MAX_TERMS: Final = 16

# PostgreSQL's 'english' stop words (Snowball), dropped on both engines so they behave alike.
# fmt: off
STOP_WORDS: Final = frozenset((
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "did", "do", "does", "doing", "don", "down", "during", "each", "few", "for", "from", "further",
    "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his",
    "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my",
    "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
    "ours", "ourselves", "out", "over", "own", "s", "same", "she", "should", "so", "some", "such", "t",
    "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were",
    "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "you", "your",
    "yours", "yourself", "yourselves",
))
# fmt: on
_PIECE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class TextMatch:
    """A full-text match over the templates: relevance (higher is better) and 'has every term'."""

    relevance: ColumnElement[float]
    all_terms: ColumnElement[bool]
    # With pruning: the most a match left out can score (see `spreaders.registry.pruning`).
    bound: ColumnElement[float] | None = None


def _facets(dialect: str) -> Table:
    key = Column("rid", Integer, primary_key=True) if dialect == "sqlite" else None
    columns: list[Column[Any]] = [
        Column("id", String(40), primary_key=key is None),
        Column("tenant_id", String(40)),
        Column("is_active", Boolean),
        Column("name", String(300)),
        Column("category", String(200)),
        Column("trigger_type", String(40)),
        Column("self_contained", Boolean),
        Column("usage_count", Integer),
        Column("success_count", Integer),
        Column("platforms", JsonType),
        Column("capabilities", JsonType),
        Column("required_credentials", JsonType),
    ]
    if key is None:
        columns.append(Column("search_vector", TSVECTOR))
    else:
        columns.insert(0, key)
    return Table(FACETS_TABLE, MetaData(), *columns)


# The columns search filters and scores on, kept in step with the templates by triggers (migrations
# 0002 and 0004), so a query never reads the wide template rows (workflow JSON) of its matches. SQLite
# keys them by the templates' rowid (as the FTS5 index); PostgreSQL keys them by id and holds the
# tsvector too.
FACETS: Final = {dialect: _facets(dialect) for dialect in ("sqlite", "postgresql")}


def terms(user_text: str) -> list[str]:
    """Cut user text into distinct search terms; `e-mail` or `lead_capture` stays one phrase term."""
    found: list[str] = []
    for chunk in user_text.lower().split():
        pieces = _PIECE.findall(chunk)
        if not pieces or (len(pieces) == 1 and pieces[0] in STOP_WORDS):
            continue
        term = " ".join(pieces)
        if term not in found:
            found.append(term)
    return found[:MAX_TERMS]


def fts5_query(words: Sequence[str], *, operator: str) -> str:
    """Join terms as FTS5 phrases; terms hold letters, digits and spaces only, so quoting is safe."""
    if operator not in {"AND", "OR"} or any('"' in word for word in words):
        raise ValueError("fts5_query takes AND or OR and terms made by `terms`")
    return f" {operator} ".join(f'"{word}"' for word in words)


def match_text(
    stmt: Select[Any],
    *,
    dialect: str,
    term_count: int,
    ranked: bool = True,
    tiered: bool = True,
    engine_cut: bool = False,
    pruned: bool = False,
    folded: Sequence[bool] = (),
) -> tuple[Select[Any], TextMatch]:
    """Restrict `stmt` (over `FACETS[dialect]`) to rows matching any term; return how well each does.

    The terms are bind parameters (see `text_parameters`), so the statement can be built once per shape;
    `folded` (PostgreSQL, from `folded_terms`) says which terms also have an unaccented form.
    With `ranked=False` only the restriction is made (for counting) and the returned match is not usable.
    With `engine_cut` (SQLite) the engine's hits are cut to the `fts_depth` best (by every-term-first
    if `tiered`, then relevance, then rowid) before the facets are read.
    With `pruned` (PostgreSQL), only the matches holding a term in their name or description, or every
    term, are ranked, and the match carries the bound on the others' relevance (see
    `spreaders.registry.pruning`).
    """
    if term_count < 1:
        raise ValueError("match_text needs at least one term")
    if dialect == "sqlite":
        return _match_sqlite(stmt, term_count, ranked=ranked, tiered=tiered, engine_cut=engine_cut)
    if dialect == "postgresql":
        return _match_postgresql(stmt, term_count, folded, pruned=pruned)
    raise NotImplementedError(f"Full-text search does not support {dialect!r}.")


def folded_terms(words: Sequence[str], *, dialect: str) -> tuple[bool, ...]:
    """Which terms PostgreSQL also looks up unaccented ('english' keeps diacritics; FTS5 folds them).

    Only terms whose unaccented form differs: a duplicate in the tsquery made every row's match and
    rank test about a tenth slower.
    """
    if dialect == "sqlite":
        return ()
    return tuple(_fold(word) != word for word in words)


def text_parameters(words: Sequence[str], *, dialect: str) -> dict[str, str]:
    """The bind parameters `match_text` expects for these terms."""
    if dialect == "sqlite":
        return {"fts_any": fts5_query(words, operator="OR"), "fts_all": fts5_query(words, operator="AND")}
    folded = folded_terms(words, dialect=dialect)
    return {
        **{f"term_{i}": word for i, word in enumerate(words)},
        **{f"folded_{i}": _fold(word) for i, word in enumerate(words) if folded[i]},
    }


def _match_sqlite(
    stmt: Select[Any], term_count: int, *, ranked: bool, tiered: bool, engine_cut: bool
) -> tuple[Select[Any], TextMatch]:
    facets = FACETS["sqlite"]
    if not ranked:
        keys = text(f"SELECT rowid AS key FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_any")
        sub = keys.columns(key=Integer).subquery("fts_keys")
        stmt = stmt.select_from(sub.join(facets, facets.c.rid == sub.c.key))
        return stmt, TextMatch(relevance=literal_column("0"), all_terms=true())
    weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
    every_term = "1"
    if term_count > 1:
        every_term = f"rowid IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_all)"
    cut = ""
    if engine_cut:
        order = "all_terms DESC, relevance DESC, rowid" if tiered else "relevance DESC, rowid"
        cut = f" ORDER BY {order} LIMIT :fts_depth"
    hits = text(
        f"SELECT rowid AS key, -bm25({FTS_TABLE}, {weights}) AS relevance, {every_term} AS all_terms "
        f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_any{cut}"
    ).columns(key=Integer, relevance=Float, all_terms=Integer)
    sub = hits.subquery("fts_hits")
    stmt = stmt.select_from(sub.join(facets, facets.c.rid == sub.c.key))
    return stmt, TextMatch(relevance=sub.c.relevance, all_terms=sub.c.all_terms == 1)


def engine_hits() -> Select[Any]:
    """The keys of every FTS5 hit of the terms `text_parameters` binds, whoever's rows they are (SQLite)."""
    keys = text(f"SELECT rowid AS key FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_any")
    return select(keys.columns(key=Integer).subquery("fts_every_key").c.key)


def tie_breaker(dialect: str) -> ColumnElement[Any]:
    """The last key of relevance order: the FTS5 rowid on SQLite (as the engine cuts its hits), else id."""
    return FACETS["sqlite"].c.rid if dialect == "sqlite" else FACETS[dialect].c.id


def _match_postgresql(
    stmt: Select[Any], term_count: int, folded: Sequence[bool], *, pruned: bool
) -> tuple[Select[Any], TextMatch]:
    facets = FACETS["postgresql"]
    vector: ColumnElement[Any] = facets.c.search_vector
    config: ColumnElement[Any] = literal_column(f"'{TS_CONFIG}'::regconfig")
    queries: list[ColumnElement[Any]] = []
    for i in range(term_count):
        query: ColumnElement[Any] = func.phraseto_tsquery(config, bindparam(f"term_{i}", type_=String))
        if i < len(folded) and folded[i]:
            query = query.op("||")(func.phraseto_tsquery(config, bindparam(f"folded_{i}", type_=String)))
        queries.append(query)
    any_term, all_terms = queries[0], queries[0]
    for query in queries[1:]:
        any_term = any_term.op("||")(query)
        all_terms = all_terms.op("&&")(query)
    made: list[ColumnElement[Any]] = [any_term.label("any_terms"), all_terms.label("all_terms")]
    if pruned:
        # A match left out (no word in name or description, not every word) ranks at most
        # BODY_WEIGHT x (n - 1) / n, n the query's distinct lexemes (two words may share a stem).
        words = func.concat_ws(" ", *(bindparam(f"term_{i}", type_=String) for i in range(term_count)))
        lexemes = func.greatest(
            func.array_length(func.tsvector_to_array(func.to_tsvector(config, words)), 1), 1
        )
        made.append((pruning.BODY_WEIGHT * (lexemes - 1) / cast(lexemes, Float)).label("bound"))
    # The tsqueries are made once in a one-row subquery that OFFSET 0 fences off: pulled up into the
    # scan, a generic plan of the prepared statement rebuilt all of them for every row it tested
    # (ten times slower). Fenced, the plan is the same for every value: a GIN scan of the vector.
    tsquery = select(*made).offset(literal_column("0")).subquery("tsquery")
    matches_any: ColumnElement[bool] = vector.op("@@", return_type=Boolean)(tsquery.c.any_terms)
    matches_all: ColumnElement[bool] = (
        vector.op("@@", return_type=Boolean)(tsquery.c.all_terms) if term_count > 1 else true()
    )
    if pruned:
        # Two GIN tests, no recheck: the expression is migration 0015's index, matched by its text.
        head = func.ts_filter(vector, literal_column(pruning.HEAD_WEIGHTS))
        matches_any = or_(head.op("@@", return_type=Boolean)(tsquery.c.any_terms), matches_all)
    # ts_rank, not ts_rank_cd: no cover-density pass over each match's positions, same A/B/C weights.
    relevance: ColumnElement[float] = cast(func.ts_rank(vector, tsquery.c.any_terms), Float)
    stmt = stmt.select_from(facets.join(tsquery, true())).where(matches_any)
    bound = cast(tsquery.c.bound, Float) if pruned else None
    return stmt, TextMatch(relevance=relevance, all_terms=matches_all, bound=bound)


def estimated_rows() -> Select[Any]:
    """PostgreSQL: the planner's estimate of the facets' rows, or their count before the first ANALYZE."""
    estimate = text(
        f"SELECT CASE WHEN reltuples >= 0 THEN reltuples ELSE (SELECT count(*) FROM {FACETS_TABLE}) END "
        f"AS rows FROM pg_class WHERE oid = '{FACETS_TABLE}'::regclass"
    )
    return select(estimate.columns(rows=Float).subquery("estimate").c.rows)


def _fold(word: str) -> str:
    if word.isascii():
        return word  # NFKD leaves ASCII as it is, and it holds no combining marks
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def json_hits(column: Any, parameter: str | None, *, dialect: str) -> ColumnElement[int]:
    """Count how many strings of the list bound to `parameter` a JSON list-of-strings column holds."""
    if parameter is None:
        return literal_column("0")
    elements = func.json_each(column) if dialect == "sqlite" else func.jsonb_array_elements_text(column)
    items = elements.table_valued("value")
    return (
        select(func.count())
        .select_from(items)
        .where(_in_list(items.c.value, parameter, dialect))
        .scalar_subquery()
    )


def json_holds_any(column: Any, parameter: str, count: int, *, dialect: str) -> ColumnElement[bool]:
    """True when a JSON list-of-strings column holds any of the `count` strings bound by `json_strings`.

    On SQLite this looks for each string's JSON form in the column's text (instr), which is far cheaper
    than opening the list with json_each for every match; on PostgreSQL it is jsonb's `?|` (does the
    list hold any of these strings), one operator call a row where opening the list was a subquery
    (`json_hits(...) > 0` made a filtered search's scan of 2,690 matches twice as long).
    """
    if dialect != "sqlite":
        strings = bindparam(parameter, type_=ARRAY(String))
        return column.op("?|", return_type=Boolean)(strings)  # type: ignore[no-any-return]
    return or_(
        *(func.instr(column, bindparam(f"{parameter}_json_{i}", type_=String)) > 0 for i in range(count))
    )


def json_strings(parameter: str, values: Sequence[str]) -> dict[str, str]:
    """The bind parameters `json_holds_any` expects on SQLite: each value as its JSON string."""
    return {f"{parameter}_json_{i}": json.dumps(value) for i, value in enumerate(values)}


def credentials_within(column: Any, parameter: str, *, dialect: str) -> ColumnElement[bool]:
    """True when every credential in a JSON list of {type, platform, nodes} is of an n8n credential type
    in the list bound to `parameter` (an empty list keeps only templates that need no credentials)."""
    if dialect == "sqlite":
        items = func.json_each(column).table_valued("value")
        cred_type: ColumnElement[Any] = func.json_extract(items.c.value, "$.type")
    else:
        items = func.jsonb_array_elements(column).table_valued("value")
        cred_type = items.c.value.op("->>")("type")
    outside: ColumnElement[bool] = or_(cred_type.is_(None), ~_in_list(cred_type, parameter, dialect))
    return ~exists(select(literal_column("1")).select_from(items).where(outside))


def _in_list(value: ColumnElement[Any], parameter: str, dialect: str) -> ColumnElement[bool]:
    """`value IN (the strings bound to parameter)`; on PostgreSQL `= ANY` of one array parameter, so the
    statement's text is the same for every list (an expanding IN is rewritten for each call, which the
    search's precompiled statements cannot be)."""
    if dialect == "postgresql":
        return value == any_(bindparam(parameter, type_=ARRAY(String)))
    return value.in_(bindparam(parameter, expanding=True, type_=String))


def name_order(name: ColumnElement[str], *, dialect: str) -> ColumnElement[str]:
    """A name for tie-breaking in code-point order on both engines (Python's sort order)."""
    return name.collate("C") if dialect == "postgresql" else name
