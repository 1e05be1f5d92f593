"""Turn a published n8n export into a clean, deployable workflow plus warnings about what was off.

The original is kept untouched beside the result. Normalising removes what belongs to the author's own
n8n instance (instance and workflow ids, webhook ids, error-workflow links, foreign credential ids,
captured pin data) and repairs what n8n would trip over (missing or duplicate node ids, connections to
nodes that do not exist).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from spreaders.registry.classify import short_type
from spreaders.registry.validate import drop_api_refused_fields

# Instance state an export carries that means nothing in another n8n.
_DROPPED_TOP_LEVEL = (
    "id",
    "active",
    "versionId",
    "createdAt",
    "updatedAt",
    "triggerCount",
    "shared",
    "homeProject",
    "isArchived",
    "staticData",
)
_NODE_ID_NAMESPACE = uuid.UUID("6f1c39e0-5b7a-4d2e-9c1e-2f3b8a9d7c41")
_SUB_WORKFLOW_TYPES = frozenset({"executeWorkflow", "toolWorkflow"})
MAX_NAME_LENGTH = 300


@dataclass
class NormalizedWorkflow:
    workflow: dict[str, Any]
    original: dict[str, Any]
    warnings: list[str]
    content_hash: str


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def name_from_file(file_name: str) -> str | None:
    """Turn `0005_Manual_Twitter_Create_Triggered.json` into "Manual Twitter Create Triggered"."""
    stem = PurePath(file_name).stem
    stem = re.sub(r"^\d+[_\-\s]+", "", stem)
    words = re.sub(r"[_\-\s]+", " ", stem).strip()
    return words or None


def normalize(
    document: dict[str, Any], *, file_name: str | None = None, keep_pin_data: bool = False
) -> NormalizedWorkflow:
    """Return a cleaned copy of a workflow (already checked by `parsing.workflow_problem`)."""
    original = copy.deepcopy(document)
    workflow = copy.deepcopy(document)
    warnings: list[str] = []

    for key in _DROPPED_TOP_LEVEL:
        workflow.pop(key, None)
    pin_data = workflow.pop("pinData", None)
    if keep_pin_data and pin_data:
        workflow["pinData"] = pin_data
    _clean_meta(workflow)
    _clean_settings(workflow)
    _clean_tags(workflow)

    # Ids given to nodes that lack one derive from the node names and types alone, so instance
    # leftovers or later edits to parameters do not change them.
    seed = canonical_json([[node.get("name"), node["type"]] for node in workflow["nodes"]])
    workflow["nodes"] = _clean_nodes(workflow["nodes"], seed, warnings)
    # Warnings here say what normalising changed; what it only notices (duplicate names, missing
    # trigger, expressions naming absent nodes) is the validator's to report.
    names = [node["name"] for node in workflow["nodes"]]
    workflow["connections"] = _clean_connections(workflow.get("connections"), set(names), warnings)

    workflow["name"] = _workflow_name(workflow, file_name)
    warnings.extend(drop_api_refused_fields(workflow))
    digest = hashlib.sha256(canonical_json(workflow).encode()).hexdigest()
    return NormalizedWorkflow(workflow=workflow, original=original, warnings=warnings, content_hash=digest)


def _workflow_name(workflow: dict[str, Any], file_name: str | None) -> str:
    name = workflow.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:MAX_NAME_LENGTH]
    derived = name_from_file(file_name) if file_name else None
    if derived:
        return derived[:MAX_NAME_LENGTH]
    kinds: list[str] = []
    for node in workflow["nodes"]:
        kind = _humanize(short_type(node["type"]))
        if kind not in kinds and kind != "Sticky Note":
            kinds.append(kind)
    return ("Workflow using " + ", ".join(kinds[:3]))[:MAX_NAME_LENGTH]


def _humanize(identifier: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", identifier)
    return words[:1].upper() + words[1:]


def _clean_meta(workflow: dict[str, Any]) -> None:
    meta = workflow.get("meta")
    if not isinstance(meta, dict):
        workflow.pop("meta", None)
        return
    meta.pop("instanceId", None)
    if not meta:
        workflow.pop("meta")


def _clean_settings(workflow: dict[str, Any]) -> None:
    settings = workflow.get("settings")
    if not isinstance(settings, dict):
        settings = {}
    settings.pop("errorWorkflow", None)
    workflow["settings"] = settings


def _clean_tags(workflow: dict[str, Any]) -> None:
    tags = workflow.get("tags")
    if tags is None:
        return
    names = tag_names(tags)
    if names:
        workflow["tags"] = [{"name": name} for name in names]
    else:
        workflow.pop("tags")


def tag_names(tags: object) -> list[str]:
    """Read tags given as `["x"]` or `[{"name": "x", "id": ...}]`."""
    if not isinstance(tags, list):
        return []
    names: list[str] = []
    for tag in tags:
        name = tag.get("name") if isinstance(tag, dict) else tag
        if isinstance(name, str) and name.strip() and name.strip() not in names:
            names.append(name.strip())
    return names


def _clean_nodes(nodes: list[dict[str, Any]], seed: str, warnings: list[str]) -> list[dict[str, Any]]:
    seen_ids: set[str] = set()
    cleaned: list[dict[str, Any]] = []
    for index, node in enumerate(nodes):
        name = node.get("name")
        if not isinstance(name, str) or not name.strip():
            name = f"{_humanize(short_type(node['type']))} {index + 1}"
            warnings.append(f"node #{index} had no name; it is now {name!r}")
        node["name"] = name
        node_id = node.get("id")
        if not isinstance(node_id, str) or not node_id.strip() or node_id in seen_ids:
            if isinstance(node_id, str) and node_id in seen_ids:
                warnings.append(f"node {name!r} repeated the id {node_id!r}; it got a new one")
            node_id = str(uuid.uuid5(_NODE_ID_NAMESPACE, f"{seed}:{index}"))
        node["id"] = node_id
        seen_ids.add(node_id)
        node.pop("webhookId", None)
        if not isinstance(node.get("parameters"), dict):
            node["parameters"] = {}
        node.setdefault("typeVersion", 1)
        if not isinstance(node.get("position"), list):
            node["position"] = [0, 0]
        credentials = node.get("credentials")
        if isinstance(credentials, dict) and credentials:
            node["credentials"] = unify_credentials(name, credentials, warnings)
        else:
            node.pop("credentials", None)
        if short_type(node["type"]) in _SUB_WORKFLOW_TYPES:
            warnings.append(f"node {name!r} calls another workflow, which must be deployed as well")
        cleaned.append(node)
    return cleaned


def unify_credentials(node_name: str, credentials: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Map every credential reference shape to `{"<credType>": {"name": ...}}` without foreign ids."""
    unified: dict[str, Any] = {}
    for cred_type, ref in credentials.items():
        name: object = None
        if isinstance(ref, str):
            name = ref
        elif isinstance(ref, dict):
            name = ref.get("name")
            if set(ref) - {"id", "name"}:
                warnings.append(
                    f"node {node_name!r}: credential {cred_type!r} carried inline values; they were dropped"
                )
        unified[str(cred_type)] = {
            "name": name.strip() if isinstance(name, str) and name.strip() else cred_type
        }
    return unified


def _clean_connections(connections: object, names: set[str], warnings: list[str]) -> dict[str, Any]:
    if not isinstance(connections, dict):
        return {}
    cleaned: dict[str, Any] = {}
    missing: set[str] = set()
    for source, outputs in connections.items():
        if source not in names:
            missing.add(source)
            continue
        if not isinstance(outputs, dict):
            continue
        kept_outputs: dict[str, Any] = {}
        for kind, branches in outputs.items():
            if not isinstance(branches, list):
                continue
            kept_branches: list[list[dict[str, Any]]] = []
            for branch in branches:
                kept: list[dict[str, Any]] = []
                for link in branch if isinstance(branch, list) else []:
                    if not isinstance(link, dict):
                        continue
                    if link.get("node") not in names:
                        missing.add(str(link.get("node")))
                        continue
                    kept.append(link)
                kept_branches.append(kept)
            kept_outputs[kind] = kept_branches
        cleaned[source] = kept_outputs
    for name in sorted(missing):
        warnings.append(f"connections named the missing node {name!r}; they were dropped")
    return cleaned
