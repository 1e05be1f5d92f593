from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.schemas import Principal
from spreaders.registry import service as registry
from spreaders.registry.schemas import TemplateSearch
from spreaders.registry.search import search_templates

STARTERS = sorted(registry.STARTER_DIR.glob("*.json"))
# Runs a Code node's script the way n8n does: `$input` gives the incoming items.
NODE_HARNESS = """
const code = require('fs').readFileSync(0, 'utf8');
const input = JSON.parse(process.argv[1]);
const out = new Function('$input', code)({ first: () => ({ json: input }), all: () => [{ json: input }] });
process.stdout.write(JSON.stringify(out));
"""


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def code_of(document: dict[str, Any]) -> str:
    (code_node,) = [n for n in document["nodes"] if n["type"] == "n8n-nodes-base.code"]
    assert code_node["typeVersion"] == 2
    source: str = code_node["parameters"]["jsCode"]
    return source


def run_code(document: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20+ is required (n8n needs it too); install it and run again.")
    done = subprocess.run(
        [node, "-e", NODE_HARNESS, json.dumps(item)],
        input=code_of(document),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    output = json.loads(done.stdout)
    assert isinstance(output, list) and len(output) == 1
    result: dict[str, Any] = output[0]["json"]
    return result


def by_name(name: str) -> dict[str, Any]:
    return next(load(path) for path in STARTERS if load(path)["name"] == name)


def test_starter_files_are_valid_n8n_workflows() -> None:
    assert len(STARTERS) == 3
    for path in STARTERS:
        document = load(path)
        assert document["settings"] == {"executionOrder": "v1"}
        names = {node["name"] for node in document["nodes"]}
        for node in document["nodes"]:
            assert {"id", "name", "type", "typeVersion", "position", "parameters"} <= set(node)
        for source, outputs in document["connections"].items():
            assert source in names
            assert all(link["node"] in names for branch in outputs["main"] for link in branch)
        assert "return [{ json:" in code_of(document)


async def test_starter_set_loads_once_and_is_self_contained(
    session: AsyncSession, principal: Principal
) -> None:
    first = await registry.load_starter(session, tenant_id=principal.tenant_id)
    again = await registry.load_starter(session, tenant_id=principal.tenant_id)
    assert (first.imported, first.failed) == (3, [])
    assert (again.imported, again.unchanged) == (0, 3)
    page = await search_templates(
        session, tenant_id=principal.tenant_id, query=TemplateSearch(self_contained=True)
    )
    summary = {item.name: (item.capabilities, item.platforms, item.trigger_type) for item in page.items}
    assert summary == {
        "Draft social posts for a campaign": (
            ["content_generation_text", "social_publishing"],
            ["facebook", "instagram", "linkedin", "tiktok", "twitter"],
            "manual",
        ),
        "Build an email campaign draft": (["email_campaign"], ["email"], "manual"),
        "Plan campaign tracking links": (
            ["analytics_tracking", "scheduling"],
            ["email", "facebook", "instagram", "linkedin", "tiktok", "twitter"],
            "manual",
        ),
    }


def test_social_drafts_follow_the_input_or_fall_back_to_defaults() -> None:
    document = by_name("Draft social posts for a campaign")
    given = run_code(
        document,
        {
            "body": {
                "campaign_name": "Summer Sale",
                "platforms": ["twitter", "linkedin"],
                "audience": "students",
            }
        },
    )
    assert [post["platform"] for post in given["posts"]] == ["twitter", "linkedin"]
    assert all("#SummerSale" in post["text"] and "students" in post["text"] for post in given["posts"])
    assert all(post["characters"] <= post["limit"] for post in given["posts"])
    defaults = run_code(document, {})
    assert [post["platform"] for post in defaults["posts"]] == [
        "instagram",
        "tiktok",
        "twitter",
        "facebook",
        "linkedin",
    ]


def test_email_draft_has_subjects_preview_and_sections() -> None:
    result = run_code(
        by_name("Build an email campaign draft"), {"campaign_name": "Spring Drop", "offer": "20% off"}
    )
    assert len(result["subject_lines"]) == 3
    assert "20% off" in result["preview_text"]
    assert [s["heading"] for s in result["sections"]][-2:] == ["Your offer", "Take the next step"]
    assert result["cta"]["text"] == "Claim the offer"


def test_tracking_plan_tags_links_and_schedules_from_the_start_date() -> None:
    body = {
        "campaign_name": "Spring Drop!",
        "platforms": "instagram, email",
        "start_date": "2025-03-01",
        "posts_per_platform": 2,
        "base_url": "https://shop.test/p?x=1",
    }
    result = run_code(by_name("Plan campaign tracking links"), {"body": body})
    tagged = "https://shop.test/p?x=1&utm_source={}&utm_medium={}&utm_campaign=spring-drop"
    assert result["links"] == [
        {"platform": "instagram", "url": tagged.format("instagram", "social")},
        {"platform": "email", "url": tagged.format("email", "email")},
    ]
    assert [(s["platform"], s["publish_at"]) for s in result["schedule"]] == [
        ("instagram", "2025-03-01T11:00:00.000Z"),
        ("email", "2025-03-02T10:00:00.000Z"),
        ("instagram", "2025-03-03T11:00:00.000Z"),
        ("email", "2025-03-04T10:00:00.000Z"),
    ]
