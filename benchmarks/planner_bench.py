"""Offline planner latency per prompt over the labelled set: p50 and p99 in milliseconds.

Run with `.venv/bin/python -m benchmarks.planner_bench [--repeat N]`. Times `analyze_prompt` (the
service entry, which runs the offline extractor) on every prompt of `benchmarks/planner/prompts.json`,
`--repeat` times each after one warm-up pass (compiled patterns, dateparser's first load), prints the
figures and, last, one JSON object. Target: p50 <= 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import datetime
from typing import Any

from benchmarks.planner_eval import load
from spreaders.planner.service import analyze_prompt

P50_TARGET_MS = 5.0


async def _timings(items: list[dict[str, Any]], repeat: int) -> list[float]:
    requests = [(item["prompt"], datetime.fromisoformat(item["now"]), item["tz"]) for item in items]
    for prompt, now, tz in requests:  # warm-up
        await analyze_prompt(prompt, now=now, tz=tz)
    timings: list[float] = []
    for _ in range(repeat):
        for prompt, now, tz in requests:
            started = time.perf_counter()
            await analyze_prompt(prompt, now=now, tz=tz)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main(argv: list[str] | None = None) -> int:
    """Print p50/p99 latency and one JSON line; exit 1 when p50 misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the set")
    args = parser.parse_args(argv)
    items = load()
    timings = asyncio.run(_timings(items, args.repeat))
    cuts = statistics.quantiles(timings, n=100)
    p50 = round(statistics.median(timings), 3)
    result: dict[str, object] = {
        "benchmark": "planner_bench",
        "prompts": len(items),
        "samples": len(timings),
        "p50_ms": p50,
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(max(timings), 3),
        "p50_target_ms": P50_TARGET_MS,
    }
    print(f"offline plan latency over {len(items)} prompts x {args.repeat}:")
    print(f"  p50 {p50:.3f} ms   p99 {cuts[98]:.3f} ms   max {max(timings):.3f} ms")
    print(json.dumps(result))
    return 0 if p50 <= P50_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
