"""Check a normalised workflow against what the pinned n8n accepts, before anyone deploys it.

Levels follow n8n itself, measured on the pinned release (docs/validation.md): an *error* is something
n8n refuses, either `POST /workflows` (its public API schema) or activation (a node type or typeVersion
it cannot load); a *warning* is something n8n accepts but that makes the template less useful: it
needs credentials, it points at nodes or sub-workflows that are not there, parts of it never run.
Platform deploys always add their own webhook entry (`orchestrator/entry.py`), so a missing trigger is
a warning, and credentials never block creation, only activation until the tenant binds them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

from spreaders.registry.classify import detect_trigger, short_type
from spreaders.registry.node_catalog import TOOL_SUFFIX, NodeCatalog, NodeTypeInfo

Level = Literal["error", "warning"]

# Node keys and value kinds n8n's public API schema (`node`, additionalProperties: false) accepts.
_NODE_FIELDS: Final[dict[str, str]] = {
    "id": "string",
    "name": "string",
    "webhookId": "string",
    "disabled": "boolean",
    "notesInFlow": "boolean",
    "notes": "string",
    "type": "string",
    "typeVersion": "number",
    "executeOnce": "boolean",
    "alwaysOutputData": "boolean",
    "retryOnFail": "boolean",
    "maxTries": "number",
    "waitBetweenTries": "number",
    "continueOnFail": "boolean",
    "onError": "string",
    "position": "number list",
    "parameters": "object",
    "credentials": "object",
    "createdAt": "string",
    "updatedAt": "string",
}
# Settings n8n's public API schema (`workflowSettings`) accepts: a kind, or the allowed values.
_SETTINGS_FIELDS: Final[dict[str, str | frozenset[str]]] = {
    "saveExecutionProgress": "boolean",
    "saveManualExecutions": "boolean",
    "saveDataErrorExecution": frozenset({"all", "none"}),
    "saveDataSuccessExecution": frozenset({"all", "none"}),
    "executionTimeout": "number",
    "errorWorkflow": "string",
    "timezone": "string",
    "executionOrder": "string",
    "callerPolicy": frozenset({"any", "none", "workflowsFromAList", "workflowsFromSameOwner"}),
    "callerIds": "string",
    "timeSavedPerExecution": "number",
    "availableInMCP": "boolean",
}
# n8n fills these with defaults when a node lacks them.
_DEFAULTED_KEYS: Final = ("typeVersion", "position", "parameters")

# Credentials that authenticate callers of a trigger's own endpoint, not n8n towards a service.
_CALLER_AUTH: Final = frozenset({"httpBasicAuth", "httpHeaderAuth", "httpBearerAuth", "jwtAuth"})
_STICKY_NOTE: Final = "stickyNote"
_SUB_WORKFLOW_TYPES: Final = frozenset({"executeWorkflow", "toolWorkflow"})
_SUB_WORKFLOW_TRIGGER: Final = "executeWorkflowTrigger"
_EXPRESSION_REFS: Final = (
    re.compile(r"""\$\(\s*(['"`])((?:\\.|(?!\1).)+)\1\s*\)"""),
    re.compile(r"""\$node\[\s*(['"`])((?:\\.|(?!\1).)+)\1\s*\]"""),
    re.compile(r"""\$items\(\s*(['"`])((?:\\.|(?!\1).)+)\1"""),
)
_ESCAPED: Final = re.compile(r"\\(.)")
_SELF_REFERENCE: Final = re.compile(r"^=\s*\{\{\s*\$workflow\.id\s*\}\}\s*$")
_WORKFLOW_URL_ID: Final = re.compile(r"/workflow/([A-Za-z0-9]+)")


@dataclass(frozen=True)
class ValidationIssue:
    """One finding: `error` when n8n would refuse the workflow, `warning` when it only degrades it."""

    level: Level
    code: str
    message: str
    node: str | None = None


def has_errors(issues: Iterable[ValidationIssue]) -> bool:
    """Say whether n8n would refuse the workflow."""
    return any(issue.level == "error" for issue in issues)


def validate(
    workflow: dict[str, Any],
    *,
    catalog: NodeCatalog | None,
    resolve_subworkflow: Callable[[str], bool] | None = None,
) -> list[ValidationIssue]:
    """List what n8n would refuse (errors) and what would make the workflow less useful (warnings)."""
    issues: list[ValidationIssue] = []
    raw_nodes = workflow.get("nodes")
    if not isinstance(raw_nodes, list):
        return [_error("workflow-invalid", "'nodes' must be a list of node objects")]
    name = workflow.get("name")
    if not isinstance(name, str):
        issues.append(_error("workflow-invalid", "the workflow needs a 'name' string"))
    issues.extend(_check_settings(workflow.get("settings")))
    nodes: list[dict[str, Any]] = []
    for index, node in enumerate(raw_nodes):
        if isinstance(node, dict):
            nodes.append(node)
            issues.extend(_check_node_shape(node, index))
        else:
            issues.append(_error("node-field-type", f"node #{index} is not a JSON object"))
    names = [node["name"] for node in nodes if isinstance(node.get("name"), str)]
    for duplicate, count in sorted(Counter(names).items()):
        if count > 1:
            issues.append(
                _warning(
                    "duplicate-node-name",
                    f"{count} nodes are named {duplicate!r}; n8n keeps only the last one when it runs "
                    "the workflow, and connections to the name are ambiguous",
                    duplicate,
                )
            )
    if catalog is None:
        issues.append(
            _warning(
                "catalog-unavailable",
                "the pinned n8n is not installed here, so node types, typeVersions and what triggers need "
                "to activate were not checked",
            )
        )
    else:
        for node in nodes:
            issues.extend(_check_node_type(node, catalog))
    linked = _linked_names(workflow.get("connections"), set(names), issues)
    issues.extend(_check_triggers_and_orphans(nodes, linked, catalog))
    issues.extend(_check_expressions(nodes, set(names)))
    issues.extend(_check_subworkflows(nodes, resolve_subworkflow))
    issues.extend(_check_credentials(nodes, catalog))
    return issues


def _error(code: str, message: str, node: str | None = None) -> ValidationIssue:
    return ValidationIssue(level="error", code=code, message=message, node=node)


def _warning(code: str, message: str, node: str | None = None) -> ValidationIssue:
    return ValidationIssue(level="warning", code=code, message=message, node=node)


def _name(node: dict[str, Any]) -> str | None:
    name = node.get("name")
    return name if isinstance(name, str) else None


def _kind_matches(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "number list":
        return isinstance(value, list) and all(_kind_matches(item, "number") for item in value)
    raise AssertionError(f"unknown kind {kind}")


def drop_api_refused_fields(workflow: dict[str, Any]) -> list[str]:
    """Remove, in place, node fields and settings n8n's API refuses but that carry no intent (editor
    leftovers such as a node `color`, a `"DEFAULT"` setting); return a warning per removal.

    Numbers exported as text (`"waitBetweenTries": "1000"`) are turned back into numbers.
    """
    warnings: list[str] = []
    for node in workflow.get("nodes", []):
        if not isinstance(node, dict):
            continue
        for key in list(node):
            kind = _NODE_FIELDS.get(key)
            value = node[key]
            if kind is None:
                del node[key]
                warnings.append(f"dropped editor-only field {key!r} of node {node.get('name')!r}")
            elif (
                kind == "number" and isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip())
            ):
                node[key] = float(value) if "." in value else int(value)
    settings = workflow.get("settings")
    if isinstance(settings, dict):
        for key in list(settings):
            expected, value = _SETTINGS_FIELDS.get(key), settings[key]
            refused = (isinstance(expected, frozenset) and value not in expected) or (
                isinstance(expected, str) and not _kind_matches(value, expected)
            )
            if refused:
                del settings[key]
                warnings.append(f"dropped setting {key}={value!r}, which n8n refuses")
    return warnings


def _check_settings(settings: object) -> Iterator[ValidationIssue]:
    if settings is None:
        return
    if not isinstance(settings, dict):
        yield _error("settings-invalid", "'settings' must be an object")
        return
    for key, value in settings.items():
        expected = _SETTINGS_FIELDS.get(key)
        if expected is None:
            continue  # the platform sends only keys n8n's API accepts
        if isinstance(expected, frozenset):
            if value not in expected:
                allowed = ", ".join(sorted(expected))
                yield _error("settings-invalid", f"setting {key!r} is {value!r}; n8n accepts only {allowed}")
        elif not _kind_matches(value, expected):
            yield _error("settings-invalid", f"setting {key!r} must be a {expected}, not {value!r}")


def _check_node_shape(node: dict[str, Any], index: int) -> Iterator[ValidationIssue]:
    name = _name(node)
    label = repr(name) if name else f"#{index}"
    if "type" not in node:
        yield _error("node-missing-key", f"node {label} has no 'type'; n8n cannot load it", name)
    parameters = node.get("parameters")
    if "name" not in node and isinstance(parameters, dict) and parameters.get("path"):
        # Webhook-style nodes register their path under the node's name.
        yield _error(
            "node-missing-key",
            f"node {label} serves a webhook path but has no 'name'; n8n fails activating it",
        )
    elif "name" not in node or name == "":
        yield _warning(
            "node-unnamed",
            f"node {label} has no name; nothing can connect to it, and n8n files unnamed nodes as one",
        )
    for key in _DEFAULTED_KEYS:
        if key not in node:
            yield _warning(
                "node-key-defaulted",
                f"node {label} has no {key!r}; n8n fills in a default the author may not have meant",
                name,
            )
    for key, value in node.items():
        kind = _NODE_FIELDS.get(key)
        if kind is None:
            yield _error(
                "node-field-unknown",
                f"node {label} carries {key!r}, a field n8n's API refuses on create",
                name,
            )
        elif not _kind_matches(value, kind):
            yield _error("node-field-type", f"node {label}: {key!r} must be a {kind}, not {value!r}", name)


def _check_node_type(node: dict[str, Any], catalog: NodeCatalog) -> Iterator[ValidationIssue]:
    node_type, label = node.get("type"), _name(node)
    if not isinstance(node_type, str):
        return
    info = catalog.get(node_type)
    if info is None:
        yield _error("unknown-node-type", _unknown_type_message(node_type, catalog), label)
        return
    version = node.get("typeVersion", 0)  # n8n loads the latest version when none is given
    if not _kind_matches(version, "number"):
        return  # reported as node-field-type
    if info.accepts_version(float(version)):
        if version and float(version) not in info.versions:
            yield _warning(
                "unlisted-type-version",
                f"{node_type} has no typeVersion {version} in n8n {catalog.n8n_version} (it has "
                f"{_versions_text(info)}); n8n runs it with its one implementation",
                label,
            )
        return
    yield _error(
        "unsupported-type-version",
        f"n8n {catalog.n8n_version} has no typeVersion {version} of {node_type} "
        f"(it has {_versions_text(info)}), so it refuses to activate the workflow",
        label,
    )


def _unknown_type_message(node_type: str, catalog: NodeCatalog) -> str:
    base = node_type.removesuffix(TOOL_SUFFIX)
    if base != node_type and base in catalog.nodes:
        return f"n8n {catalog.n8n_version} cannot use {base} as an AI tool, so it refuses {node_type}"
    package = node_type.rsplit(".", 1)[0]
    hint = "" if node_type.startswith(("n8n-nodes-base.", "@n8n/")) else f" (community package {package!r})"
    return f"n8n {catalog.n8n_version} does not know the node type {node_type}{hint}; it refuses to activate"


def _versions_text(info: NodeTypeInfo) -> str:
    return ", ".join(f"{v:g}" for v in sorted(info.versions)) or "no versions"


def _linked_names(connections: object, names: set[str], issues: list[ValidationIssue]) -> set[str]:
    """Return names that take part in a connection; report links to nodes that are not there."""
    linked: set[str] = set()
    if connections is None:
        return linked
    if not isinstance(connections, dict):
        issues.append(
            _warning("connection-malformed", "'connections' is not an object; nothing is connected")
        )
        return linked
    missing: set[str] = set()
    malformed: set[str] = set()
    for source, outputs in connections.items():
        if source not in names:
            missing.add(source)
            continue
        if not isinstance(outputs, dict):
            malformed.add(source)
            continue
        for branches in outputs.values():
            for link in _links(branches, source, malformed):
                target = link.get("node")
                if not isinstance(target, str):
                    malformed.add(source)
                elif target not in names:
                    missing.add(target)
                else:
                    linked.update((source, target))
    for name in sorted(missing):
        issues.append(
            _warning(
                "connection-to-missing-node",
                f"connections name {name!r}, which is not a node; n8n ignores them",
            )
        )
    for name in sorted(malformed):
        issues.append(
            _warning("connection-malformed", f"connections from {name!r} are not in n8n's shape", name)
        )
    return linked


def _links(branches: object, source: str, malformed: set[str]) -> Iterator[dict[str, Any]]:
    if not isinstance(branches, list):
        malformed.add(source)
        return
    for branch in branches:
        if branch is None:
            continue  # n8n writes null for an output with no links
        if not isinstance(branch, list):
            malformed.add(source)
            continue
        for link in branch:
            if isinstance(link, dict):
                yield link
            else:
                malformed.add(source)


def _is_trigger(node: dict[str, Any], catalog: NodeCatalog | None) -> bool:
    node_type = str(node.get("type", ""))
    info = catalog.get(node_type) if catalog is not None else None
    if info is not None:
        return info.trigger
    return detect_trigger([{"type": node_type}]) != "none"


def _check_triggers_and_orphans(
    nodes: list[dict[str, Any]], linked: set[str], catalog: NodeCatalog | None
) -> Iterator[ValidationIssue]:
    triggers = {id(node): node for node in nodes if _is_trigger(node, catalog)}
    if not any(node.get("disabled") is not True for node in triggers.values()):
        yield _warning(
            "no-trigger",
            "no enabled trigger node: n8n cannot start it on its own, and the platform's entry has "
            "no trigger whose followers it could feed",
        )
    for node in nodes:
        name = node.get("name")
        if (
            isinstance(name, str)
            and name not in linked
            and short_type(str(node.get("type", ""))) != _STICKY_NOTE
            and id(node) not in triggers
        ):
            yield _warning("orphan-node", f"node {name!r} is connected to nothing, so it never runs", name)


def _check_expressions(nodes: list[dict[str, Any]], names: set[str]) -> Iterator[ValidationIssue]:
    for node in nodes:
        missing: set[str] = set()
        for text in _strings(node.get("parameters")):
            if "$" not in text:
                continue
            for pattern in _EXPRESSION_REFS:
                for match in pattern.finditer(text):
                    referred = _ESCAPED.sub(r"\1", match.group(2))
                    # `$('#id')` in a Code node is a jQuery-style selector, not a node.
                    if referred not in names and not referred.startswith(("#", ".")):
                        missing.add(referred)
        label = _name(node)
        for referred in sorted(missing):
            yield _warning(
                "expression-missing-node",
                f"node {label!r} has expressions reading node {referred!r}, which is not in the workflow; "
                "they fail when they run",
                label,
            )


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _check_subworkflows(
    nodes: list[dict[str, Any]], resolve: Callable[[str], bool] | None
) -> Iterator[ValidationIssue]:
    has_own_trigger = any(
        short_type(str(node.get("type", ""))) == _SUB_WORKFLOW_TRIGGER and node.get("disabled") is not True
        for node in nodes
    )
    for node in nodes:
        if short_type(str(node.get("type", ""))) not in _SUB_WORKFLOW_TYPES or node.get("disabled") is True:
            continue
        label = _name(node)
        parameters = node.get("parameters")
        problem = _subworkflow_problem(
            parameters if isinstance(parameters, dict) else {}, has_own_trigger, resolve
        )
        if problem is not None:
            code, message = problem
            yield _warning(code, f"node {label!r} {message}", label)


def _subworkflow_problem(
    parameters: dict[str, Any], has_own_trigger: bool, resolve: Callable[[str], bool] | None
) -> tuple[str, str] | None:
    """Return (code, message) when the called workflow cannot be shown to exist."""
    source = parameters.get("source", "database")
    if source == "parameter":
        text = parameters.get("workflowJson")
        try:
            inline = json.loads(text) if isinstance(text, str) else text
        except ValueError:
            inline = None
        if isinstance(inline, dict) and isinstance(inline.get("nodes"), list) and inline["nodes"]:
            return None
        return "subworkflow-unresolved", "runs an inline sub-workflow whose JSON is not a workflow"
    if source == "localFile":
        path = parameters.get("workflowPath")
        return (
            "subworkflow-unresolved",
            f"runs the file {path!r} from the author's n8n server, which is not here",
        )
    if source == "url":
        return (
            "subworkflow-unchecked",
            f"downloads its sub-workflow from {parameters.get('workflowUrl')!r} when it runs",
        )
    reference = _workflow_id(parameters.get("workflowId"))
    if not reference:
        return "subworkflow-unresolved", "calls a sub-workflow but names none"
    if _SELF_REFERENCE.match(reference):
        if has_own_trigger:
            return None
        return (
            "subworkflow-unresolved",
            "calls its own workflow, which has no Execute Workflow Trigger to receive it",
        )
    if reference.startswith("="):
        return "subworkflow-unchecked", f"chooses its sub-workflow when it runs ({reference!r})"
    if resolve is None:
        return "subworkflow-unchecked", f"calls workflow {reference!r}, which nothing here could look up"
    if not resolve(reference):
        return "subworkflow-unresolved", f"calls workflow {reference!r}, which the platform does not have"
    return None


def _workflow_id(value: object) -> str:
    """Read `workflowId` as a plain id, `={{ expression }}`, or a resource locator in list/id/url mode."""
    if isinstance(value, dict):
        raw = value.get("value")
        text = str(raw).strip() if isinstance(raw, str | int) else ""
        if value.get("mode") == "url" and (match := _WORKFLOW_URL_ID.search(text)):
            return match.group(1)
        return text
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip()
    return ""


def _check_credentials(nodes: list[dict[str, Any]], catalog: NodeCatalog | None) -> Iterator[ValidationIssue]:
    for node in nodes:
        label = _name(node)
        credentials = node.get("credentials")
        wanted = sorted(credentials) if isinstance(credentials, dict) else []
        info = catalog.get(str(node.get("type", ""))) if catalog is not None else None
        lacking = sorted(info.required_credentials - set(wanted)) if info is not None else []
        for credential_type in wanted:
            yield _warning(
                "credential-needed",
                f"node {label!r} needs a {credential_type!r} credential, bound in the tenant's n8n",
                label,
            )
        for credential_type in lacking:
            yield _warning(
                "credential-missing",
                f"node {label!r} has no {credential_type!r} credential, which {node.get('type')} requires",
                label,
            )
        if info is not None and node.get("disabled") is not True:
            needed = _activation_credentials(info, wanted)
            if needed:
                yield _warning(
                    "activation-needs-credential",
                    f"trigger {label!r} reaches its service when the workflow is activated (a first poll, "
                    f"a webhook registration), so n8n refuses activation until {needed} is bound",
                    label,
                )


def _activation_credentials(info: NodeTypeInfo, wanted: list[str]) -> str | None:
    """Name the credentials a trigger uses at activation (registering a webhook, opening a connection)."""
    if not info.trigger:
        return None
    service = sorted(set(wanted) - _CALLER_AUTH)
    if service:
        return " and ".join(repr(credential) for credential in service)
    accepted = sorted(info.credentials - _CALLER_AUTH)
    if not wanted and accepted:
        return "one of " + ", ".join(repr(credential) for credential in accepted)
    return None
