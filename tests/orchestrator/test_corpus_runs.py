"""Run every corpus template that needs no account and no outside network, end to end, on demand.

The corpus is imported for a fresh tenant; the registry's classification picks the templates: the
valid, self-contained ones, plus credential-free ones whose only outside calls are HTTP Request nodes
with a fixed host, which are pointed at a local test server (`servers.LocalHttpServer`) and imported
as copies. Each is deployed and started through `orchestrator.execute` with parameters derived from
its `required_inputs`. Every run that does not end in `success` gets a reason; the per-template table
is written as JSON (and Markdown) under the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import SpreadersError
from spreaders.orchestrator import service as orchestrator
from spreaders.provisioning import service as provisioning
from spreaders.registry import service as registry
from spreaders.registry.classify import read_node
from spreaders.registry.models import WorkflowTemplate

from .servers import LocalHttpServer

pytestmark = pytest.mark.e2e

MIN_SUCCESSES = 50
CONCURRENCY = 6
IDLE_SLOTS = 8
TIMEOUT_S = 60
HTTP_REQUEST = "n8n-nodes-base.httpRequest"

# Why a template did not finish with `success`.
REASONS = {
    "activation-refused": "n8n would not activate the deployed workflow",
    "needs-credential": "a node asked for a credential after all",
    "outside-network": "it calls a host outside this machine (not run, or the call failed)",
    "env-blocked": "it reads $env, which the platform's n8n blocks (N8N_BLOCK_ENV_ACCESS_IN_NODE)",
    "long-wait": "it waits (Wait node, form page or resume webhook) beyond the run's timeout",
    "code-sandbox": "a Code/Function node hit the sandbox (module, global or API not available)",
    "stopped-by-template": "the template's own Stop and Error node fired on the sample input",
    "bad-sample-data": "a node failed on the derived sample input or the local server's generic answer",
    "node-parameter-issues": "n8n refused to start it: a node on the run's path lacks required parameters",
    "n8n-error": "another n8n error (message recorded)",
    "timeout": "still running when the timeout passed",
    "platform-storage": "n8n finished, but Spreaders could not store the run (PostgreSQL: \\u0000 in JSON)",
}
_NETWORK = re.compile(
    r"ENOTFOUND|EAI_AGAIN|getaddrinfo|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH"
    r"|socket hang up|connection cannot be established|could not connect",
    re.I,
)
_SANDBOX = re.compile(
    r"Cannot find module|is disallowed|not allowed|process is not defined"
    r"|require is not defined|Buffer is not defined|sandbox",
    re.I,
)
_DATA = re.compile(
    r"Cannot read propert|undefined|is not iterable|is not a function|expects a|is not an array"
    r"|invalid json|Unexpected token|doesn't exist|does not exist|No binary data|is not valid|must be"
    r"|Could not find property|not a valid|Invalid",
    re.I,
)
_WAITING_TYPES = {"n8n-nodes-base.wait", "n8n-nodes-base.form"}
# A URL whose scheme and host are written out (optionally as the start of an expression).
_FIXED_HOST = re.compile(r"^(=?)\s*https?://[A-Za-z0-9.-]+(?::\d+)?(?=[/?#]|$)")


@dataclass
class Candidate:
    template_id: str
    name: str
    source: str
    trigger_type: str
    route: str  # "self-contained" | "local-server"
    parameters: dict[str, Any] = field(default_factory=dict)
    workflow: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    template_id: str
    name: str
    source: str
    trigger_type: str
    route: str
    status: str
    seconds: float
    reason: str = ""
    detail: str = ""
    error_node: str = ""


def _value_for(key: str, local_url: str) -> Any:
    """A plausible sample value for an input field, by its name."""
    word = key.lower()
    table: list[tuple[tuple[str, ...], Any]] = [
        (("email", "mail"), "ada@example.com"),
        (("url", "link", "website", "href", "site"), f"{local_url}/page"),
        (("domain", "host"), "example.com"),
        (("phone", "mobile"), "+14155550123"),
        (("first",), "Ada"),
        (("last", "surname"), "Lovelace"),
        (("name", "author", "user"), "Ada Lovelace"),
        (("date", "time", "day", "when"), "2026-03-05T10:00:00Z"),
        (("count", "amount", "number", "quantity", "price", "age", "limit", "total", "size"), 3),
        (("id",), "42"),
        (("country",), "US"),
        (("lang", "locale"), "en"),
    ]
    for words, value in table:
        if any(w in word for w in words):
            return value
    return "Hello from the Spreaders corpus run"


def _typed_value(key: str, kind: str | None, local_url: str) -> Any:
    """A sample of the JSON type the template declares for the input (`input_types`), else by name."""
    sample = _value_for(key, local_url)
    if kind == "number":
        return sample if isinstance(sample, int) else 3
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample]
    if kind == "object":
        return {"value": sample}
    if kind == "string":
        return str(sample)
    return sample


def parameters_for(
    inputs: list[str], types: dict[str, str], trigger_type: str, local_url: str
) -> dict[str, Any]:
    """Build caller parameters that fill every field the template reads from its trigger, in the types
    it declares."""
    parameters: dict[str, Any] = {}
    for path in sorted(inputs, key=lambda p: p.count(".")):
        parts = path.split(".")
        if parts[0] in {"headers", "params", "webhookUrl", "executionMode"}:
            continue
        if parts[0] in {"body", "query"} and trigger_type in {"webhook", "manual"}:
            parts = parts[1:]
        if not parts:
            continue
        target = parameters
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        if parts[-1] not in target:
            target[parts[-1]] = _typed_value(parts[-1], types.get(path), local_url)
    return parameters


def blocking_nodes(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """Nodes the registry does not count as running inside n8n alone."""
    found = []
    for node in workflow.get("nodes", []):
        reading = read_node(node)
        if reading.spec is None or reading.spec.external or reading.spec.host:
            found.append(node)
    return found


def point_at(workflow: dict[str, Any], base_url: str) -> dict[str, Any] | None:
    """Copy the workflow with every HTTP Request URL's host replaced by `base_url`; None if a URL's
    host is chosen at run time or is a placeholder."""
    copied = copy.deepcopy(workflow)
    for node in copied.get("nodes", []):
        if node.get("type") != HTTP_REQUEST:
            continue
        params = node.get("parameters") or {}
        url = params.get("url")
        match = _FIXED_HOST.match(url) if isinstance(url, str) else None
        if match is None or "{{" in match.group(0):
            return None
        params["url"] = match.group(1) + base_url + url[match.end() :]
    return copied


def classify_failure(
    *, status: str, error: str, error_node_type: str, workflow: dict[str, Any], route: str
) -> str:
    """Name why a run did not succeed (one of REASONS)."""
    if status in {"waiting", "running", "new"}:
        waits = any(
            node.get("type") in _WAITING_TYPES and node.get("disabled") is not True
            for node in workflow.get("nodes", [])
        )
        return "long-wait" if waits or status == "waiting" else "timeout"
    if error.startswith("storing the run failed"):
        return "platform-storage"
    if "workflow has issues" in error or "problem executing the workflow" in error:
        return "node-parameter-issues"
    if "would not activate" in error:
        return "activation-refused"
    if re.search(r"credential", error, re.I):
        return "needs-credential"
    if "access to env vars denied" in error or "$env" in error:
        return "env-blocked"
    if _NETWORK.search(error):
        return "outside-network"
    if error_node_type == "n8n-nodes-base.stopAndError":
        return "stopped-by-template"
    code_node = error_node_type.rsplit(".", 1)[-1] in {"code", "function", "functionItem"}
    if code_node and _SANDBOX.search(error):
        return "code-sandbox"
    if _DATA.search(error) or route == "local-server":
        return "bad-sample-data"
    return "n8n-error"


def _may_idle(candidate: Candidate) -> bool:
    return any(node.get("type") in _WAITING_TYPES for node in candidate.workflow.get("nodes", []))


async def _fresh_tenant(app: AppContext) -> Principal:
    async with app.unit_of_work() as session:
        # enterprise: its own n8n process, stopped at the end, and room in the quotas for many runs at once.
        tenant = await accounts.create_tenant(session, name="corpus runs", tier="enterprise")
        user = await accounts.create_user(
            session, tenant_id=tenant.id, email=f"corpus-{uuid.uuid4().hex[:8]}@example.test"
        )
    return Principal(tenant_id=tenant.id, user_id=user.id)


async def _pick(
    app: AppContext, principal: Principal, corpus_dir: Path, local_url: str
) -> tuple[list[Candidate], list[Outcome]]:
    """Import the corpus and choose the templates to run; those left out for the network are reported."""
    async with app.unit_of_work() as session:
        report = await registry.import_paths(
            session, tenant_id=principal.tenant_id, paths=[corpus_dir], catalog=app.node_catalog()
        )
        assert report.imported > 1000, report
        rows = (
            await session.scalars(
                select(WorkflowTemplate).where(
                    WorkflowTemplate.tenant_id == principal.tenant_id,
                    WorkflowTemplate.is_active.is_(True),
                    WorkflowTemplate.is_valid.is_(True),
                )
            )
        ).all()
    picked: list[Candidate] = []
    left_out: list[Outcome] = []
    for row in sorted(rows, key=lambda r: r.source):
        if row.credential_types:
            continue
        source = row.source.split("n8n-workflows/", 1)[-1]
        candidate = Candidate(row.id, row.name, source, row.trigger_type, "self-contained")
        candidate.parameters = parameters_for(
            list(row.required_inputs), dict(row.input_types), row.trigger_type, local_url
        )
        candidate.workflow = row.workflow
        if row.self_contained:
            picked.append(candidate)
            continue
        blockers = blocking_nodes(row.workflow)
        if row.required_credentials or not blockers or any(n["type"] != HTTP_REQUEST for n in blockers):
            continue  # needs an account, or an outside system other than plain HTTP
        pointed = point_at(row.workflow, local_url)
        if pointed is None:
            skipped = Outcome(row.id, row.name, source, row.trigger_type, "not run", "skipped", 0.0)
            skipped.reason = "outside-network"
            skipped.detail = "an HTTP Request URL's host is chosen at run time or is a placeholder"
            left_out.append(skipped)
            continue
        candidate.route, candidate.workflow = "local-server", pointed
        picked.append(candidate)
    return picked, left_out


async def _import_pointed(app: AppContext, principal: Principal, picked: list[Candidate]) -> None:
    """Store the local-server copies as templates of their own (the originals stay as imported)."""
    async with app.unit_of_work() as session:
        for candidate in picked:
            if candidate.route != "local-server":
                continue
            row = await registry.import_workflow(
                session,
                tenant_id=principal.tenant_id,
                document=candidate.workflow,
                source=f"local-server copy of {candidate.source}",
                lineage_key=f"local-server:{candidate.template_id}",
            )
            candidate.template_id = row.id


async def _run(
    app: AppContext, principal: Principal, candidate: Candidate, gate: asyncio.Semaphore
) -> Outcome:
    async with gate:
        started = time.monotonic()
        try:
            result = await orchestrator.execute(
                app,
                principal=principal,
                template_id=candidate.template_id,
                parameters=candidate.parameters,
                timeout_s=TIMEOUT_S,
            )
            status, error, error_node = result.status, result.error, result.error_node
        except SpreadersError as exc:
            status, error, error_node = "error", exc.message, ""
        except DBAPIError as exc:  # the platform could not store what n8n returned (see REASONS)
            status, error, error_node = "error", f"storing the run failed: {exc.orig}", ""
        seconds = round(time.monotonic() - started, 2)
    outcome = Outcome(
        candidate.template_id,
        candidate.name,
        candidate.source,
        candidate.trigger_type,
        candidate.route,
        status,
        seconds,
        error_node=error_node,
    )
    if status != "success":
        types = {n.get("name"): str(n.get("type", "")) for n in candidate.workflow.get("nodes", [])}
        outcome.reason = classify_failure(
            status=status,
            error=error,
            error_node_type=types.get(error_node, ""),
            workflow=candidate.workflow,
            route=candidate.route,
        )
        outcome.detail = (error or f"status {status} after {seconds} s")[:300]
    return outcome


def _markdown(outcomes: list[Outcome]) -> str:
    lines = [
        "| template | trigger | route | status | reason | detail |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        detail = (f"{o.error_node}: " if o.error_node else "") + o.detail.replace("|", "/").replace("\n", " ")
        lines.append(
            f"| `{o.source}` | {o.trigger_type} | {o.route} | {o.status} | {o.reason} | {detail[:160]} |"
        )
    return "\n".join(lines) + "\n"


async def test_credential_free_corpus_templates_run_end_to_end(
    app: AppContext, corpus_dir: Path, tmp_path: Path
) -> None:
    began = time.monotonic()
    principal = await _fresh_tenant(app)
    with LocalHttpServer() as server:
        picked, left_out = await _pick(app, principal, corpus_dir, server.base_url)
        await _import_pointed(app, principal, picked)
        imported = time.monotonic() - began
        # Start the tenant's n8n once, before the concurrent runs would race to start it.
        await provisioning.ensure_running(app, tenant_id=principal.tenant_id)
        try:
            # Templates with Wait nodes or form pages may idle until the timeout: they get their own
            # slots, so they never hold up the quick runs.
            quick, idle = asyncio.Semaphore(CONCURRENCY), asyncio.Semaphore(IDLE_SLOTS)
            # A task group cancels the other runs if one raises, so none can start n8n again after
            # the stop below.
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(_run(app, principal, c, idle if _may_idle(c) else quick))
                    for c in picked
                ]
            ran = [task.result() for task in tasks]
        finally:
            await provisioning.stop(app, tenant_id=principal.tenant_id)
        local_calls = len(server.seen)
    outcomes = sorted(ran + left_out, key=lambda o: o.source)
    successes = [o for o in ran if o.status == "success"]
    reasons = Counter(o.reason for o in outcomes if o.status != "success")
    took = time.monotonic() - began
    summary = (
        f"corpus runs: {len(outcomes)} credential-free templates, {len(ran)} run "
        f"({sum(c.route == 'local-server' for c in picked)} against the local server, {local_calls} calls), "
        f"{len(successes)} success, failures {dict(sorted(reasons.items()))}, "
        f"{took:.0f} s ({imported:.0f} s import and selection)"
    )
    (tmp_path / "corpus_runs.json").write_text(
        json.dumps({"summary": summary, "runs": [asdict(o) for o in outcomes]}, indent=2)
    )
    (tmp_path / "corpus_runs.md").write_text(_markdown(outcomes))
    print(summary, f"(table: {tmp_path / 'corpus_runs.json'})")

    assert len(successes) >= MIN_SUCCESSES, summary
    unexplained = [o for o in outcomes if o.status != "success" and (o.reason not in REASONS or not o.detail)]
    assert not unexplained, unexplained
