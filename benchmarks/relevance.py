"""Search relevance on the shared corpus: nDCG@10 and recall@10 per ranking variant.

Run with `.venv/bin/python -m benchmarks.relevance`. Imports the corpus into a temporary SQLite
database, runs every request of `benchmarks/relevance/requests.json` through `search_templates` under
each ranking variant and prints one line per variant, then one JSON object. `--pool` prints the
top candidates of several rankers and query variants for each request instead (what a judge reads
when extending the set); judged files are marked with their grade.

Grades: 3 does the job as asked, 2 does most of it or the same job on a neighbouring platform or
trigger, 1 a useful starting point, 0 (or unjudged) not relevant. nDCG uses 2**grade - 1 gains;
recall counts files graded 2 or more (requests without
one are left out of its mean).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from spreaders.bootstrap import AppContext, open_app
from spreaders.registry import service as registry
from spreaders.registry.models import WorkflowTemplate
from spreaders.registry.schemas import TemplateSearch
from spreaders.registry.search import Ranking, search_templates
from spreaders.settings import Settings

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "n8n-workflows"
REQUESTS = Path(__file__).resolve().parent / "relevance" / "requests.json"
K = 10
ORIGINAL = {"platform": 40.0, "capability": 30.0, "success": 20.0, "popularity": 10.0}
NO_ORIGINAL = dict.fromkeys(ORIGINAL, 0.0)
VARIANTS: dict[str, Ranking] = {
    "text_only": Ranking(**NO_ORIGINAL, text=1, all_words_first=False),
    "text_only_all_words_first": Ranking(**NO_ORIGINAL, text=1, all_words_first=True),
    "original_only": Ranking(**ORIGINAL, text=0, all_words_first=False),
    "original_all_words_first": Ranking(**ORIGINAL, text=0, all_words_first=True),
    **{
        f"combined_text{weight}": Ranking(**ORIGINAL, text=weight, all_words_first=False)
        for weight in (15, 30, 60, 100, 200)
    },
    **{
        f"combined_text{weight}_all_words_first": Ranking(**ORIGINAL, text=weight, all_words_first=True)
        for weight in (15, 30, 60, 100, 200)
    },
    "default": Ranking(),
}


def corpus_file(source: str) -> str:
    """Name the corpus file a template came from (its source path ends with it)."""
    return Path(source).name


def ndcg(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    gains = [2 ** grades.get(name, 0) - 1 for name in ranked[:k]]
    ideal = sorted((2**grade - 1 for grade in grades.values()), reverse=True)[:k]
    best = sum(gain / math.log2(i + 2) for i, gain in enumerate(ideal))
    return sum(gain / math.log2(i + 2) for i, gain in enumerate(gains)) / best if best else 0.0


def recall(ranked: list[str], grades: dict[str, int], k: int = K) -> float | None:
    """Share of the files graded 2+ found in the top k; None when a request has none."""
    relevant = {name for name, grade in grades.items() if grade >= 2}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else None


async def _load(ctx: AppContext) -> tuple[str, dict[str, str]]:
    tenant_id = ctx.local_principal.tenant_id
    async with ctx.unit_of_work() as session:
        await registry.import_paths(session, tenant_id=tenant_id, paths=[CORPUS])
        rows = await session.execute(select(WorkflowTemplate.id, WorkflowTemplate.source))
        files = {template_id: corpus_file(source) for template_id, source in rows}
    return tenant_id, files


async def _ranked(
    ctx: AppContext, tenant_id: str, files: dict[str, str], search: dict[str, Any], ranking: Ranking
) -> list[str]:
    async with ctx.sessionmaker() as session:
        page = await search_templates(
            session, tenant_id=tenant_id, query=TemplateSearch(**search, limit=K), ranking=ranking
        )
    return [files[item.id] for item in page.items]


async def evaluate(ctx: AppContext, requests: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    tenant_id, files = await _load(ctx)
    results: dict[str, dict[str, float]] = {}
    for name, ranking in VARIANTS.items():
        ndcgs: list[float] = []
        recalls: list[float] = []
        for request in requests:
            ranked = await _ranked(ctx, tenant_id, files, request["search"], ranking)
            ndcgs.append(ndcg(ranked, request["judgments"]))
            found = recall(ranked, request["judgments"])
            if found is not None:
                recalls.append(found)
        results[name] = {
            "ndcg@10": round(statistics.fmean(ndcgs), 4),
            "recall@10": round(statistics.fmean(recalls), 4),
        }
    return results


async def pool(ctx: AppContext, requests: list[dict[str, Any]]) -> None:
    """Print the union of several rankers' and query variants' top candidates for each request."""
    tenant_id, files = await _load(ctx)
    async with ctx.sessionmaker() as session:
        rows = await session.execute(
            select(
                WorkflowTemplate.source,
                WorkflowTemplate.name,
                WorkflowTemplate.platforms,
                WorkflowTemplate.trigger_type,
                WorkflowTemplate.node_types,
                WorkflowTemplate.description,
            )
        )
        about = {corpus_file(row.source): row for row in rows}
    rankers = [VARIANTS["text_only"], VARIANTS["original_all_words_first"], VARIANTS["combined_text60"]]
    for request in requests:
        search = request["search"]
        variants = [search, {"query": request["request"]}, {**search, "platforms": [], "capabilities": []}]
        seen: dict[str, None] = {}
        for variant in variants:
            for ranking in rankers:
                for name in (await _ranked(ctx, tenant_id, files, variant, ranking))[:8]:
                    seen.setdefault(name)
        # A source that owes nothing to the full-text index: words of the request in the file name.
        words = {word for word in request["request"].lower().split() if len(word) > 3}
        by_file = sorted(about, key=lambda name: (-sum(word in name.lower() for word in words), name))
        for name in by_file[:6]:
            if any(word in name.lower() for word in words):
                seen.setdefault(name)
        print(f"\n## {request['id']}: {request['request']}  {json.dumps(search)}")
        for name in seen:
            row = about[name]
            grade = request.get("judgments", {}).get(name, "?")
            text = " ".join(row.description.split())[:100]
            kinds = ",".join(sorted({kind.rsplit(".", 1)[-1] for kind in row.node_types}))
            print(f"  [{grade}] {name} | {row.name} | {row.trigger_type} | {kinds} | {text}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", action="store_true", help="print candidates to judge instead")
    parser.add_argument("--only", help="comma-separated request ids")
    args = parser.parse_args()
    requests = json.loads(REQUESTS.read_text())["requests"]
    if args.only:
        requests = [r for r in requests if r["id"] in args.only.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite+aiosqlite:///{tmp}/relevance.db")
        async with open_app(settings) as ctx:
            if args.pool:
                await pool(ctx, requests)
                return
            results = await evaluate(ctx, requests)
    width = max(map(len, results))
    for name, scores in results.items():
        print(f"{name:<{width}}  nDCG@10 {scores['ndcg@10']:.4f}  recall@10 {scores['recall@10']:.4f}")
    print(json.dumps({"requests": len(requests), "variants": results}))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
