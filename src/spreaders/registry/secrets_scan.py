"""Find secrets typed straight into a workflow's parameters (API keys, tokens, passwords).

They are flagged, never echoed: an issue names the node and the parameter path and shows only the
first characters of the value, so the warning itself does not spread the secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from spreaders.registry.validate import ValidationIssue

_TOKEN_PATTERNS: Final = (
    ("OpenAI key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}")),
    ("Stripe key", re.compile(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Telegram bot token", re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b")),
    ("JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
_SENSITIVE_NAME: Final = re.compile(
    r"^(authorization|x-api-key|api[-_]?key|apikey|access[-_]?token|token|secret|client[-_]?secret|password|passwd)$",
    re.IGNORECASE,
)
_PLACEHOLDER: Final = re.compile(
    r"^(your|<|\{|\[|xxx|\*\*\*|changeme|placeholder|example|test)", re.IGNORECASE
)


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    else:
        yield path, value


def _named_pairs(parameters: Any) -> Iterator[tuple[str, str, str]]:
    """(path, name, value) for name/value lists such as HTTP headers and query parameters."""
    for path, value in _walk(parameters, ""):
        if path.endswith(".value") or path.endswith(".name"):
            continue
        key = path.rsplit(".", 1)[-1]
        if isinstance(value, str) and _SENSITIVE_NAME.match(key):
            yield path, key, value
    for container_path, container in _walk_dicts(parameters, ""):
        name, value = container.get("name"), container.get("value")
        if isinstance(name, str) and isinstance(value, str) and _SENSITIVE_NAME.match(name.strip()):
            yield container_path, name, value


def _walk_dicts(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _walk_dicts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_dicts(item, f"{path}[{index}]")


def _literal(value: str) -> bool:
    text = value.strip()
    if len(text) < 8 or text.startswith("=") or "{{" in text or _PLACEHOLDER.match(text):
        return False
    return not text.lower().startswith("bearer {{")


def _masked(value: str) -> str:
    return value.strip()[:4] + "…"


def find_literal_secrets(workflow: dict[str, Any]) -> list[ValidationIssue]:
    """A warning for every parameter that holds what looks like a real secret rather than a credential."""
    issues: list[ValidationIssue] = []
    for node in workflow.get("nodes", []):
        if not isinstance(node, dict) or node.get("type") == "n8n-nodes-base.stickyNote":
            continue
        name = node.get("name")
        parameters = node.get("parameters") or {}
        flagged: set[str] = set()
        for path, value in _walk(parameters, ""):
            if not isinstance(value, str):
                continue
            for label, pattern in _TOKEN_PATTERNS:
                match = pattern.search(value)
                if match and path not in flagged:
                    flagged.add(path)
                    issues.append(_issue(name, path, f"looks like a {label} ({_masked(match.group())})"))
        for path, field, value in _named_pairs(parameters):
            if path not in flagged and _literal(value):
                flagged.add(path)
                issues.append(_issue(name, path, f"{field!r} holds a literal value ({_masked(value)})"))
    return issues


def _issue(node: Any, path: str, what: str) -> ValidationIssue:
    return ValidationIssue(
        level="warning",
        code="literal-secret",
        message=f"parameter {path} {what}; move it into a connected credential",
        node=str(node) if node else None,
    )
