"""The node types a pinned n8n release knows, read from its installed packages.

n8n loads nodes from two packages, `n8n-nodes-base` and `@n8n/n8n-nodes-langchain`; each ships
`dist/known/nodes.json` (every node and its source file) and `dist/types/nodes.json` (one description per
node version class, with versions, group, credentials and `usableAsTool`). A node is *versioned* when its
class is a `VersionedNodeType`: n8n then refuses a `typeVersion` it has no class for, while a plain node
runs any `typeVersion` with its one implementation. n8n also offers `<type>Tool`, an AI-tool wrapper,
for every node version marked `usableAsTool`.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

logger = logging.getLogger(__name__)

# (npm package folder under node_modules, prefix used for node types in workflow JSON)
NODE_PACKAGES = (
    ("n8n-nodes-base", "n8n-nodes-base"),
    ("@n8n/n8n-nodes-langchain", "@n8n/n8n-nodes-langchain"),
)
# n8n drops this one unless it runs its own end-to-end tests.
_EXCLUDED = frozenset({"n8n-nodes-base.e2eTest"})
_VERSIONED_CLASS = re.compile(r"extends\s+[\w.]*VersionedNodeType\b")
TOOL_SUFFIX = "Tool"


@dataclass(frozen=True)
class NodeTypeInfo:
    """What the pinned n8n knows about one node type."""

    type: str
    versions: frozenset[float]
    # True when n8n refuses a typeVersion outside `versions` (a VersionedNodeType).
    versioned: bool
    trigger: bool
    # Credential types the node accepts, and those every version asks for unconditionally.
    credentials: frozenset[str]
    required_credentials: frozenset[str]
    # Versions n8n can wrap as the AI tool `<type>Tool`.
    tool_versions: frozenset[float]

    def accepts_version(self, version: float) -> bool:
        """Say whether n8n resolves this typeVersion (0 means the latest to n8n)."""
        return not self.versioned or version == 0 or version in self.versions


@dataclass(frozen=True)
class NodeCatalog:
    """Node types of one installed n8n release, keyed by their full type name."""

    n8n_version: str
    nodes: Mapping[str, NodeTypeInfo]

    def get(self, node_type: str) -> NodeTypeInfo | None:
        """Return the node type, including `<type>Tool` wrappers of nodes usable as AI tools."""
        info = self.nodes.get(node_type)
        if info is not None or not node_type.endswith(TOOL_SUFFIX):
            return info
        base = self.nodes.get(node_type.removesuffix(TOOL_SUFFIX))
        if base is None or not base.tool_versions:
            return None
        return NodeTypeInfo(
            type=node_type,
            versions=base.tool_versions,
            versioned=base.versioned,
            trigger=False,
            credentials=base.credentials,
            required_credentials=base.required_credentials,
            tool_versions=frozenset(),
        )

    def knows(self, node_type: str) -> bool:
        return self.get(node_type) is not None


class CatalogUnavailable(Exception):
    """The installed packages are missing or unreadable."""


def load_node_catalog(install_dir: Path, version: str) -> NodeCatalog | None:
    """Read the node catalog of n8n `version` under `install_dir`, or None when it is not installed."""
    try:
        return _load(install_dir / version / "node_modules", version)
    except CatalogUnavailable as exc:
        # Not cached: a later call finds the catalog once `spreaders n8n install` has run.
        logger.warning("n8n %s node catalog unavailable: %s", version, exc)
        return None


@functools.cache
def _load(node_modules: Path, version: str) -> NodeCatalog:
    nodes: dict[str, NodeTypeInfo] = {}
    for folder, prefix in NODE_PACKAGES:
        package = node_modules / folder
        try:
            known = _read_json(package / "dist" / "known" / "nodes.json")
            described = _read_json(package / "dist" / "types" / "nodes.json")
        except (OSError, ValueError) as exc:
            raise CatalogUnavailable(f"cannot read {package}: {exc}") from exc
        if not isinstance(known, dict) or not isinstance(described, list):
            raise CatalogUnavailable(f"{package} has node lists of an unexpected shape")
        by_name: dict[str, list[dict[str, Any]]] = {}
        for description in described:
            if isinstance(description, dict) and isinstance(description.get("name"), str):
                by_name.setdefault(description["name"], []).append(description)
        for name, entry in known.items():
            full = f"{prefix}.{name}"
            if full in _EXCLUDED:
                continue
            versioned = len(by_name.get(name, [])) > 1 or _has_versioned_class(package, entry)
            nodes[full] = _info(full, name, by_name.get(name, []), versioned)
    return NodeCatalog(n8n_version=version, nodes=MappingProxyType(nodes))


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _has_versioned_class(package: Path, entry: object) -> bool:
    """A VersionedNodeType with a single description shows up only in its source file."""
    source = entry.get("sourcePath") if isinstance(entry, dict) else None
    if not isinstance(source, str):
        return False
    try:
        return _VERSIONED_CLASS.search((package / source).read_text(encoding="utf-8")) is not None
    except OSError:
        return False


def _info(full: str, name: str, descriptions: list[dict[str, Any]], versioned: bool) -> NodeTypeInfo:
    versions: set[float] = set()
    tool_versions: set[float] = set()
    credentials: set[str] = set()
    required: set[str] | None = None
    trigger = name.endswith("Trigger")
    for description in descriptions:
        described_versions = _versions(description.get("version"))
        versions |= described_versions
        if description.get("usableAsTool"):
            tool_versions |= described_versions
        group = description.get("group")
        trigger = trigger or (isinstance(group, list) and "trigger" in group)
        unconditional: set[str] = set()
        for credential in description.get("credentials") or []:
            if not isinstance(credential, dict) or not isinstance(credential.get("name"), str):
                continue
            credentials.add(credential["name"])
            if credential.get("required") is True and not credential.get("displayOptions"):
                unconditional.add(credential["name"])
        required = unconditional if required is None else required & unconditional
    return NodeTypeInfo(
        type=full,
        versions=frozenset(versions),
        versioned=versioned,
        trigger=trigger,
        credentials=frozenset(credentials),
        required_credentials=frozenset(required or ()),
        tool_versions=frozenset(tool_versions),
    )


def _versions(value: object) -> set[float]:
    items = value if isinstance(value, list) else [value]
    return {float(item) for item in items if isinstance(item, int | float) and not isinstance(item, bool)}
