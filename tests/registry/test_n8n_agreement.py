"""The validator against the real pinned n8n: a validator error must mean n8n refuses the template.

A deterministic sample of the corpus is normalised with the registry's own code and sent exactly as
the platform deploys it (`orchestrator.entry.build_deployable`: the template plus the platform's entry
webhook, so every template has a trigger), then activated, as `orchestrator.service.deploy` does. n8n's
verdict is one of: accepted; refused-structural (400 on create, or activation refused because n8n cannot
load a node: unknown type, unsupported typeVersion, not usable as a tool, no trigger); refused-environmental
(activation refused because credentials are not bound, or because a trigger's own activation code, its
first poll or webhook registration, could not reach its service).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import UpstreamError
from spreaders.orchestrator.entry import build_deployable, new_entry_path
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.orchestrator.service import client_for
from spreaders.provisioning import service as provisioning
from spreaders.registry.node_catalog import load_node_catalog
from spreaders.registry.normalize import normalize
from spreaders.registry.parsing import parse_text
from spreaders.registry.validate import has_errors, validate

pytestmark = pytest.mark.e2e

SAMPLE_STEP = 12  # every 12th file of the 1,506 sorted by path: 126 templates
MIN_SAMPLE = 120
MIN_AGREEMENT = 0.98
ACCEPTED = "accepted"
STRUCTURAL = "refused-structural"
ENVIRONMENTAL = "refused-environmental"

# Activation refusals that mean n8n cannot load the workflow's nodes, whatever the environment.
_STRUCTURAL_ACTIVATION = (
    "Unrecognized node type",
    "cannot be used as a tool",
    "already has a `supplyData` method",
    "Cannot read properties of undefined",  # a typeVersion a versioned node has no class for
    "has no node to start the workflow",
)
# n8n wraps what a trigger's own activation code throws in this prefix: the structure was accepted.
_TRIGGER_FAILED = "There was a problem activating the workflow"


def classify_activation_refusal(message: str) -> str:
    """Sort an activation refusal by whose fault it is; unknown reasons count as structural."""
    if any(marker in message for marker in _STRUCTURAL_ACTIVATION):
        return STRUCTURAL
    if (
        "credential" in message
        or _TRIGGER_FAILED in message
        or "conflict with one of the webhooks" in message
    ):
        return ENVIRONMENTAL
    return STRUCTURAL


def sample_files(corpus_dir: Path) -> list[Path]:
    files = sorted((corpus_dir / "workflows").rglob("*.json"), key=lambda path: path.as_posix())
    return files[::SAMPLE_STEP]


async def n8n_verdict(client: N8nClient, workflow: dict[str, Any]) -> tuple[str, str]:
    """Create and activate the template as the platform deploys it; return (verdict, n8n's reason)."""
    body = build_deployable(workflow, name=f"agreement {workflow['name']}", entry_path=new_entry_path())
    try:
        created = await client.create_workflow(body)
    except UpstreamError as exc:
        return STRUCTURAL, exc.message
    workflow_id = str(created["id"])
    try:
        await client.activate_workflow(workflow_id)
    except UpstreamError as exc:
        return classify_activation_refusal(exc.message), exc.message
    finally:
        await client.delete_workflow(workflow_id)
    return ACCEPTED, ""


def _node(name: str, kind: str, version: float = 1, **extra: Any) -> dict[str, Any]:
    node_type = kind if "." in kind else f"n8n-nodes-base.{kind}"
    node = {"id": name, "name": name, "type": node_type, "typeVersion": version, "position": [0, 0]}
    return {"parameters": {}, **node, **extra}


def _started_by_manual_trigger(*nodes: dict[str, Any], settings: Any = None) -> dict[str, Any]:
    """Manual trigger -> first node; the other nodes are left as given."""
    first = nodes[0].get("name", "nobody")
    return {
        "name": "validator case",
        "nodes": [_node("Start", "manualTrigger"), *nodes],
        "connections": {"Start": {"main": [[{"node": first, "type": "main", "index": 0}]]}},
        "settings": settings or {"executionOrder": "v1"},
    }


# One workflow per check: (what it shows, workflow, the issue code the validator must report).
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown type", _started_by_manual_trigger(_node("X", "doesNotExist")), "unknown-node-type"),
    ("community type", _started_by_manual_trigger(_node("X", "n8n-nodes-foo.bar")), "unknown-node-type"),
    ("not a tool", _started_by_manual_trigger(_node("X", "codeTool", 2)), "unknown-node-type"),
    (
        "versioned node, missing version",
        _started_by_manual_trigger(_node("X", "set", 3.35)),
        "unsupported-type-version",
    ),
    (
        "tool wrapper, version not a tool",
        _started_by_manual_trigger(_node("X", "gmailTool", 1)),
        "unsupported-type-version",
    ),
    ("field the API refuses", _started_by_manual_trigger(_node("X", "noOp", color=3)), "node-field-unknown"),
    (
        "field of the wrong kind",
        _started_by_manual_trigger(_node("X", "noOp", notes=None)),
        "node-field-type",
    ),
    (
        "parameters not an object",
        _started_by_manual_trigger(_node("X", "noOp", parameters=[])),
        "node-field-type",
    ),
    (
        "webhook without a name",
        _started_by_manual_trigger(
            _node("X", "noOp"),
            {"type": "n8n-nodes-base.webhook", "typeVersion": 2, "parameters": {"path": "p"}},
        ),
        "node-missing-key",
    ),
    (
        "node without a name",
        _started_by_manual_trigger({"type": "n8n-nodes-base.noOp", "typeVersion": 1}),
        "node-unnamed",
    ),
    (
        "setting the API refuses",
        _started_by_manual_trigger(_node("X", "noOp"), settings={"saveExecutionProgress": "DEFAULT"}),
        "settings-invalid",
    ),
    (
        "plain node, unlisted version",
        _started_by_manual_trigger(_node("X", "noOp", 5)),
        "unlisted-type-version",
    ),
    (
        "duplicate names",
        _started_by_manual_trigger(_node("X", "noOp"), _node("X", "noOp")),
        "duplicate-node-name",
    ),
    ("orphan", _started_by_manual_trigger(_node("X", "noOp"), _node("Lost", "noOp")), "orphan-node"),
    (
        "expression names a missing node",
        _started_by_manual_trigger(_node("X", "set", 3.4, parameters={"v": "={{ $('Gone').item.json }}"})),
        "expression-missing-node",
    ),
    (
        "missing sub-workflow",
        _started_by_manual_trigger(
            _node(
                "X",
                "executeWorkflow",
                1.2,
                parameters={"workflowId": {"__rl": True, "mode": "id", "value": "nope123"}},
            )
        ),
        "subworkflow-unchecked",
    ),
    (
        "no trigger: the platform's entry starts it",
        {"name": "no trigger", "nodes": [_node("X", "noOp")], "connections": {}, "settings": {}},
        "no-trigger",
    ),
]


@pytest.mark.parametrize(("label", "workflow", "code"), CASES, ids=[case[0] for case in CASES])
async def test_each_check_level_matches_what_the_pinned_n8n_does(
    app: AppContext, e2e_principal: Principal, label: str, workflow: dict[str, Any], code: str
) -> None:
    catalog = load_node_catalog(app.settings.n8n.install_dir, app.settings.n8n.version)
    assert catalog is not None
    client = client_for(app, await provisioning.ensure_running(app, tenant_id=e2e_principal.tenant_id))
    issues = validate(workflow, catalog=catalog)
    verdict, reason = await n8n_verdict(client, workflow)
    assert code in [issue.code for issue in issues], issues
    assert has_errors(issues) == (verdict == STRUCTURAL), f"{label}: n8n said {verdict} {reason}"


def test_unknown_activation_refusals_count_as_structural() -> None:
    assert classify_activation_refusal("400 Unrecognized node type: n8n-nodes-foo.bar") == STRUCTURAL
    assert classify_activation_refusal("400 Found credential with no ID.") == ENVIRONMENTAL
    assert classify_activation_refusal(f'400 {_TRIGGER_FAILED}: "Please select a calendar"') == ENVIRONMENTAL
    assert classify_activation_refusal("400 something new") == STRUCTURAL


async def test_validator_errors_agree_with_what_the_pinned_n8n_refuses(
    app: AppContext,
    e2e_principal: Principal,
    corpus_dir: Path,
    tmp_path: Path,
    record_property: Any,
) -> None:
    catalog = load_node_catalog(app.settings.n8n.install_dir, app.settings.n8n.version)
    assert catalog is not None, "the suite started n8n, so its node catalog must be installed"
    conn = await provisioning.ensure_running(app, tenant_id=e2e_principal.tenant_id)
    client = client_for(app, conn)
    started = time.monotonic()

    rows: list[dict[str, Any]] = []
    for path in sample_files(corpus_dir):
        for document in parse_text(path.read_text(encoding="utf-8")).workflows:
            workflow = normalize(document, file_name=path.name).workflow
            issues = validate(workflow, catalog=catalog)
            verdict, reason = await n8n_verdict(client, workflow)
            rows.append(
                {
                    "file": path.relative_to(corpus_dir).as_posix(),
                    "verdict": verdict,
                    "n8n": reason,
                    "validator_error": has_errors(issues),
                    "errors": [issue.message for issue in issues if issue.level == "error"],
                    "predicts_activation_refusal": any(
                        issue.code == "activation-needs-credential" for issue in issues
                    ),
                }
            )
    seconds = time.monotonic() - started

    disagreements = [row for row in rows if row["validator_error"] != (row["verdict"] == STRUCTURAL)]
    passed_but_refused = [row for row in disagreements if row["verdict"] == STRUCTURAL]
    agreement = 1 - len(disagreements) / len(rows)
    environmental = [row for row in rows if not row["validator_error"] and row["verdict"] == ENVIRONMENTAL]
    figures = {
        "n8n_version": app.settings.n8n.version,
        "sample_size": len(rows),
        "agreement": round(agreement, 4),
        "verdicts": dict(Counter(row["verdict"] for row in rows)),
        "validator_errors": sum(row["validator_error"] for row in rows),
        "environmental_refusals_predicted_by_warning": sum(
            row["predicts_activation_refusal"] for row in environmental
        ),
        "disagreements": disagreements,
        "seconds": round(seconds, 1),
    }
    (tmp_path / "n8n_agreement.json").write_text(json.dumps(figures | {"rows": rows}, indent=2))
    record_property("n8n_agreement", json.dumps({k: v for k, v in figures.items() if k != "disagreements"}))
    print(
        f"\nn8n {figures['n8n_version']} agreement {agreement:.3f} over {len(rows)} templates "
        f"in {seconds:.1f}s; verdicts {figures['verdicts']}; validator errors {figures['validator_errors']}; "
        f"disagreements {len(disagreements)}; figures in {tmp_path / 'n8n_agreement.json'}"
    )

    assert len(rows) >= MIN_SAMPLE
    assert passed_but_refused == [], "the validator passed templates n8n refuses for a structural reason"
    assert agreement >= MIN_AGREEMENT, disagreements
