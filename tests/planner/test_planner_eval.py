"""The offline planner meets its quality bar on the tuning split of the labelled prompt set."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EVAL = Path(__file__).resolve().parents[2] / "benchmarks" / "planner_eval.py"


def _planner_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("planner_eval", EVAL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("planner_eval", module)
    spec.loader.exec_module(module)
    return module


async def test_offline_planner_meets_every_target_on_the_tuning_split() -> None:
    planner_eval = _planner_eval()
    items = planner_eval.load()
    scores = planner_eval.evaluate(items, await planner_eval.plan_all(items))
    tune = scores["tune"].metrics()
    assert planner_eval.below_target(tune) == {}, scores["tune"].mismatches


def test_the_labelled_set_is_large_varied_and_keeps_a_holdout() -> None:
    items = _planner_eval().load()
    holdout = [item for item in items if item["split"] == "holdout"]
    assert len(items) >= 90
    assert 0.15 <= len(holdout) / len(items) <= 0.35
    assert sum(any(ch in item["prompt"] for ch in "äöüßñáéíó¿") for item in items) >= 10
