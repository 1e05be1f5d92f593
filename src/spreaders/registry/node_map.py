"""What each n8n node type is: its platform, how it runs, the credential it needs and what it implies.

The facts live in `node_map.json` beside this module (one line per node type, maintained by hand; a test
checks that the corpus's most used types are all there). They are read once, on first use.

Rules in an entry are tried in order and the first whose parameters all match wins: its capabilities
replace the entry's own, and its kind (when given) replaces the entry's kind. A `null` among a rule's
values matches a parameter the export leaves out (n8n then uses the default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any, Final, Literal, cast, get_args

NodeKind = Literal[
    "note", "trigger", "core", "code", "file", "loop", "wait",
    "subworkflow", "api", "llm", "model", "image", "video",
]  # fmt: skip
NODE_KINDS: Final[tuple[str, ...]] = get_args(NodeKind)
_MAP_FILE: Final = "node_map.json"
_FROM_PARAMETER: Final = "$"


@dataclass(frozen=True)
class CredentialRule:
    """Which credential type a node needs, read from one of its parameters."""

    default: str | None
    param: str = "authentication"
    options: Mapping[str, str | None] = field(default_factory=dict)
    # Minimum typeVersion -> default credential, for nodes whose default changed between versions.
    versions: Mapping[float, str | None] = field(default_factory=dict)

    def resolve(self, parameters: Mapping[str, Any], type_version: float) -> str | None:
        """Return the credential type this node's parameters select, or None when it needs none."""
        value = parameters.get(self.param)
        if isinstance(value, str) and value in self.options:
            chosen = self.options[value]
            if chosen is not None and chosen.startswith(_FROM_PARAMETER):
                named = parameters.get(chosen.removeprefix(_FROM_PARAMETER))
                return named if isinstance(named, str) and named and not named.startswith("=") else None
            return chosen
        if self.versions:
            applicable = [minimum for minimum in self.versions if minimum <= type_version]
            return self.versions[max(applicable)] if applicable else self.default
        return self.default

    def possible(self) -> list[str]:
        """Every credential type this rule can name directly."""
        found = [self.default, *self.options.values(), *self.versions.values()]
        return [cred for cred in found if cred is not None and not cred.startswith(_FROM_PARAMETER)]


@dataclass(frozen=True)
class ParameterRule:
    when: Mapping[str, tuple[str | None, ...]]
    capabilities: tuple[str, ...]
    kind: NodeKind | None

    def matches(self, parameters: Mapping[str, Any]) -> bool:
        for name, allowed in self.when.items():
            value = parameters.get(name)
            if not (value is None or isinstance(value, str)):
                return False
            if value not in allowed:
                return False
        return True


@dataclass(frozen=True)
class NodeSpec:
    """The mapping's entry for one node type."""

    platform: str | None
    kind: NodeKind
    external: bool
    host: bool = False
    credentials: CredentialRule | None = None
    capabilities: tuple[str, ...] = ()
    rules: tuple[ParameterRule, ...] = ()
    lead_words: tuple[str, ...] | None = None

    def applied(self, parameters: Mapping[str, Any]) -> tuple[tuple[str, ...], NodeKind]:
        """Return the capabilities and kind of a node with these parameters."""
        for rule in self.rules:
            if rule.matches(parameters):
                return rule.capabilities, rule.kind or self.kind
        return self.capabilities, self.kind


@dataclass(frozen=True)
class NodeMap:
    nodes: Mapping[str, NodeSpec]
    credential_platforms: Mapping[str, str | None]


@cache
def node_map() -> NodeMap:
    """Load `node_map.json` (once)."""
    raw = json.loads(files("spreaders.registry").joinpath(_MAP_FILE).read_text(encoding="utf-8"))
    nodes = {str(node_type): _spec(node_type, entry) for node_type, entry in raw["nodes"].items()}
    platforms = {
        str(cred): (None if value is None else str(value))
        for cred, value in raw["credentialPlatforms"].items()
    }
    return NodeMap(nodes=nodes, credential_platforms=platforms)


def node_spec(node_type: str) -> NodeSpec | None:
    """Return the mapping's entry for a full node type, or None when the type is not mapped."""
    return node_map().nodes.get(node_type)


def credential_platform(credential_type: str) -> tuple[bool, str | None]:
    """Return (known, platform) for a credential type; platform None means a generic credential."""
    platforms = node_map().credential_platforms
    return (credential_type in platforms, platforms.get(credential_type))


def type_version(node: Mapping[str, Any]) -> float:
    version = node.get("typeVersion", 1)
    return float(version) if isinstance(version, int | float) and not isinstance(version, bool) else 1.0


def _spec(node_type: str, entry: Mapping[str, Any]) -> NodeSpec:
    kind = entry["kind"]
    if kind not in NODE_KINDS:
        raise ValueError(f"{_MAP_FILE}: {node_type} has unknown kind {kind!r}")
    lead_words = entry.get("lead_words")
    return NodeSpec(
        platform=entry["platform"],
        kind=cast(NodeKind, kind),
        external=bool(entry["external"]),
        host=bool(entry.get("host", False)),
        credentials=_credential_rule(entry.get("credentials")),
        capabilities=tuple(entry.get("capabilities", ())),
        rules=tuple(_parameter_rule(node_type, rule) for rule in entry.get("rules", ())),
        lead_words=None if lead_words is None else tuple(lead_words),
    )


def _credential_rule(raw: object) -> CredentialRule | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return CredentialRule(default=raw)
    spec = cast(Mapping[str, Any], raw)
    return CredentialRule(
        default=spec.get("default"),
        param=spec.get("param", "authentication"),
        options=dict(spec.get("options", {})),
        versions={float(minimum): cred for minimum, cred in spec.get("versions", {}).items()},
    )


def _parameter_rule(node_type: str, raw: Mapping[str, Any]) -> ParameterRule:
    kind = raw.get("kind")
    if kind is not None and kind not in NODE_KINDS:
        raise ValueError(f"{_MAP_FILE}: a rule of {node_type} has unknown kind {kind!r}")
    when: dict[str, tuple[str | None, ...]] = {
        name: tuple(cast(Sequence[str | None], values)) for name, values in raw["if"].items()
    }
    return ParameterRule(
        when=when, capabilities=tuple(raw.get("capabilities", ())), kind=cast(NodeKind | None, kind)
    )
