"""Offline planner quality on the labelled prompt set, per split (tune / holdout).

Run with `.venv/bin/python -m benchmarks.planner_eval` (`--show tune` lists the mismatches of a split).
Runs `analyze_prompt` on every item of `benchmarks/planner/prompts.json` at the item's reference time and
zone, then prints per split: precision/recall/F1 micro-averaged over items for the set fields (platforms,
content_requirements, required_workflows), accuracy of campaign_type, exact-match rates of timeline.start,
timeline.end and budget (amount and currency together; "no budget" must stay empty), and, on the items
that label them, audience ages and locations; `holdout_fresh` is the part of holdout written after the
extractor's rules. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from spreaders.planner.schemas import CampaignPlan
from spreaders.planner.service import analyze_prompt

PROMPTS = Path(__file__).resolve().parent / "planner" / "prompts.json"
SPLITS = ("tune", "holdout")
# The holdout items written after the extractor's rules (a stricter test of generality), reported apart too.
FRESH = "holdout_fresh"
SET_FIELDS = ("platforms", "content_requirements", "required_workflows")
EXACT_FIELDS = (
    "campaign_type",
    "timeline.start",
    "timeline.end",
    "budget",
    "audience.ages",
    "audience.locations",
)
# The quality bar of the offline backend on the tuning split (exact rates and accuracy are fractions).
TARGETS: dict[str, float] = {
    "platforms.f1": 0.95,
    "content_requirements.f1": 0.90,
    "required_workflows.f1": 0.90,
    "campaign_type": 0.85,
    "timeline.start": 0.90,
    "timeline.end": 0.90,
    "budget": 0.90,
}


@dataclass
class Counts:
    """True/false positives and negatives of a set field, summed over items."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: set[str], got: set[str]) -> None:
        self.tp += len(gold & got)
        self.fp += len(got - gold)
        self.fn += len(gold - got)

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class SplitScore:
    items: int = 0
    sets: dict[str, Counts] = field(default_factory=lambda: {f: Counts() for f in SET_FIELDS})
    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXACT_FIELDS, 0))
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXACT_FIELDS, 0))
    mismatches: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {"items": self.items}
        for name, counts in self.sets.items():
            p, r, f1 = counts.prf()
            out |= {f"{name}.precision": p, f"{name}.recall": r, f"{name}.f1": f1}
        for name in EXACT_FIELDS:
            out[name] = self.hits[name] / self.totals[name] if self.totals[name] else 1.0
        return {k: round(v, 3) for k, v in out.items()}


def load(path: Path = PROMPTS) -> list[dict[str, Any]]:
    """Read the labelled items."""
    items: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["items"]
    return items


async def plan_all(items: Iterable[dict[str, Any]]) -> list[CampaignPlan]:
    """Plan every item at its own reference time and zone."""
    return [
        await analyze_prompt(item["prompt"], now=datetime.fromisoformat(item["now"]), tz=item["tz"])
        for item in items
    ]


def _exact(score: SplitScore, name: str, gold: object, got: object, item_id: str) -> None:
    score.totals[name] += 1
    if gold == got:
        score.hits[name] += 1
    else:
        score.mismatches.append(f"{item_id} {name}: gold={gold} got={got}")


def _budget(plan: CampaignPlan) -> tuple[float, str | None] | None:
    if plan.budget.amount is None:
        return None
    return round(plan.budget.amount, 2), plan.budget.currency


def score_item(score: SplitScore, item: dict[str, Any], plan: CampaignPlan) -> None:
    """Add one item's comparison of gold and plan to its split's score."""
    gold, item_id = item["gold"], item["id"]
    score.items += 1
    for name in SET_FIELDS:
        want, got = set(gold[name]), set(getattr(plan, name))
        score.sets[name].add(want, got)
        if want != got:
            score.mismatches.append(
                f"{item_id} {name}: missing={sorted(want - got)} extra={sorted(got - want)}"
            )
    _exact(score, "campaign_type", gold["campaign_type"], plan.campaign_type, item_id)
    start, end = plan.timeline.start, plan.timeline.end
    _exact(score, "timeline.start", gold["timeline"]["start"], start and start.isoformat(), item_id)
    _exact(score, "timeline.end", gold["timeline"]["end"], end and end.isoformat(), item_id)
    want_budget = gold["budget"] and (round(gold["budget"]["amount"], 2), gold["budget"]["currency"])
    _exact(score, "budget", want_budget, _budget(plan), item_id)
    audience = gold.get("target_audience", {})
    if "age_min" in audience:
        got_ages = (plan.target_audience.age_min, plan.target_audience.age_max)
        _exact(score, "audience.ages", (audience["age_min"], audience["age_max"]), got_ages, item_id)
    if "locations" in audience:
        got_places = sorted(p.lower() for p in plan.target_audience.locations)
        _exact(
            score, "audience.locations", sorted(p.lower() for p in audience["locations"]), got_places, item_id
        )


def evaluate(items: list[dict[str, Any]], plans: list[CampaignPlan]) -> dict[str, SplitScore]:
    """Score plans against gold, per split."""
    scores = {split: SplitScore() for split in (*SPLITS, FRESH)}
    for item, plan in zip(items, plans, strict=True):
        score_item(scores[item["split"]], item, plan)
        if item.get("fresh"):
            score_item(scores[FRESH], item, plan)
    return scores


def below_target(metrics: dict[str, float]) -> dict[str, float]:
    """Return the figures of one split that miss their target."""
    return {name: metrics[name] for name, bar in TARGETS.items() if metrics[name] < bar}


def _print_split(split: str, metrics: dict[str, float]) -> None:
    print(f"== {split} ({metrics['items']:g} prompts)")
    for name in SET_FIELDS:
        p, r, f1 = (metrics[f"{name}.{k}"] for k in ("precision", "recall", "f1"))
        print(f"  {name:<22} P={p:.3f} R={r:.3f} F1={f1:.3f}")
    for name in EXACT_FIELDS:
        kind = "accuracy" if name == "campaign_type" else "exact"
        print(f"  {name:<22} {kind}={metrics[name]:.3f}")


def main(argv: list[str] | None = None) -> int:
    """Print per-split scores, then one JSON line; exit 1 when the tuning split misses a target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", choices=(*SPLITS, FRESH, "all"), help="list the mismatches of a split")
    args = parser.parse_args(argv)
    items = load()
    scores = evaluate(items, asyncio.run(plan_all(items)))
    result = {split: score.metrics() for split, score in scores.items()}
    for split, metrics in result.items():
        _print_split(split, metrics)
        if args.show in (split, "all"):
            for line in scores[split].mismatches:
                print("   ", line)
    missed = below_target(result["tune"])
    print(json.dumps({"benchmark": "planner_eval", **result, "tune_below_target": missed}))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
