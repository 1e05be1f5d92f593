"""Read export files and documents into normalised, classified workflows ready to store (no database)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from spreaders.registry.archives import ArchiveError, is_archive, read_archive
from spreaders.registry.classify import Classification, classify, derive_category, describe, search_text
from spreaders.registry.node_catalog import NodeCatalog
from spreaders.registry.normalize import NormalizedWorkflow, canonical_json, normalize, tag_names
from spreaders.registry.parsing import ParseError, parse_text
from spreaders.registry.schemas import ImportFailure
from spreaders.registry.secrets_scan import find_literal_secrets
from spreaders.registry.validate import ValidationIssue, validate

CATEGORIES_FILE = "categories.json"
MAX_LINEAGE = 300
MAX_SOURCE = 500


@dataclass
class Prepared:
    """One workflow read, normalised and classified, ready to store."""

    source: str
    lineage_key: str
    normalized: NormalizedWorkflow
    classification: Classification
    category: str
    description: str
    search_text: str
    issues: list[ValidationIssue] = field(default_factory=list)


@dataclass
class PreparedBatch:
    """Workflows ready to store, and the files or items refused with their reasons."""

    prepared: list[Prepared] = field(default_factory=list)
    failed: list[ImportFailure] = field(default_factory=list)


def storage_problem(document: dict[str, Any]) -> str | None:
    """Return why a well-formed workflow still cannot be stored, or None."""
    if "\\u0000" in canonical_json(document):
        return "contains NUL characters (\\u0000), which PostgreSQL cannot store"
    return None


def prepare_paths(
    paths: list[Path], categories: dict[str, str], catalog: NodeCatalog | None = None
) -> PreparedBatch:
    """Read files, folders (recursively, `*.json`) and archives (.zip, .tar, .tar.gz, .tgz); collect
    what cannot be imported with a reason."""
    batch = PreparedBatch()
    for path in paths:
        if path.is_dir():
            mapping = {**_folder_categories(path, batch), **categories}
            skip = path / CATEGORIES_FILE if mapping else None
            for file in sorted(path.rglob("*.json")):
                if file != skip:
                    _prepare_file(file, mapping, batch, catalog)
        elif path.is_file() and is_archive(path):
            _prepare_archive(path, categories, batch, catalog)
        elif path.is_file():
            _prepare_file(path, categories, batch, catalog)
        else:
            batch.failed.append(ImportFailure(path=str(path), reason="no such file or folder"))
    return batch


def _prepare_archive(
    archive: Path, categories: Mapping[str, str], batch: PreparedBatch, catalog: NodeCatalog | None
) -> None:
    try:
        members = list(read_archive(archive))
    except ArchiveError as exc:
        batch.failed.append(ImportFailure(path=str(archive), reason=str(exc)))
        return
    for member in members:
        label = f"{archive}!{member.name}"
        if member.problem is not None:
            batch.failed.append(ImportFailure(path=label, reason=member.problem))
            continue
        _prepare_bytes(member.data, label, PurePosixPath(member.name), categories, batch, catalog)


def _folder_categories(folder: Path, batch: PreparedBatch) -> dict[str, str]:
    """Read `categories.json` when the folder has the corpus layout (it sits beside `workflows/`)."""
    file = folder / CATEGORIES_FILE
    if not (file.is_file() and (folder / "workflows").is_dir()):
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        batch.failed.append(ImportFailure(path=str(file), reason=f"unreadable categories file: {exc}"))
        return {}
    if isinstance(data, dict):
        return {str(k): v for k, v in data.items() if isinstance(v, str) and v}
    if isinstance(data, list):
        return {
            str(entry["filename"]): entry["category"]
            for entry in data
            if isinstance(entry, dict) and isinstance(entry.get("category"), str) and entry.get("category")
        }
    batch.failed.append(
        ImportFailure(path=str(file), reason="categories file is neither a list nor an object")
    )
    return {}


def _prepare_file(
    file: Path, categories: Mapping[str, str], batch: PreparedBatch, catalog: NodeCatalog | None
) -> None:
    try:
        data = file.read_bytes()
    except OSError as exc:
        batch.failed.append(ImportFailure(path=str(file), reason=f"cannot read the file: {exc.strerror}"))
        return
    _prepare_bytes(data, str(file), file, categories, batch, catalog)


def _prepare_bytes(
    data: bytes,
    label: str,
    file: Path | PurePosixPath,
    categories: Mapping[str, str],
    batch: PreparedBatch,
    catalog: NodeCatalog | None,
) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        batch.failed.append(ImportFailure(path=label, reason="not UTF-8 text"))
        return
    try:
        parsed = parse_text(text)
    except ParseError as exc:
        batch.failed.append(ImportFailure(path=label, reason=str(exc)))
        return
    for reason in parsed.rejected:
        batch.failed.append(ImportFailure(path=label, reason=reason))
    several = len(parsed.workflows) > 1
    for index, document in enumerate(parsed.workflows):
        if (problem := storage_problem(document)) is not None:
            batch.failed.append(ImportFailure(path=label, reason=problem))
            continue
        prepared = prepare_document(
            document,
            source=label,
            file_name=file.name,
            lineage_key=f"{file.stem}#{index}" if several else file.stem,
            category=categories.get(file.name),
            catalog=catalog,
        )
        prepared.normalized.warnings[:0] = parsed.warnings
        batch.prepared.append(prepared)


def prepare_document(
    document: dict[str, Any],
    *,
    source: str,
    file_name: str | None,
    lineage_key: str | None,
    category: str | None,
    catalog: NodeCatalog | None = None,
) -> Prepared:
    """Normalise, validate and classify one workflow that passed `parsing.workflow_problem`."""
    normalized = normalize(document, file_name=file_name)
    # Sub-workflow calls are resolved against the whole registry after storing (registry.dependencies).
    issues = [
        issue
        for issue in validate(normalized.workflow, catalog=catalog)
        if issue.code != "subworkflow-unchecked"
    ]
    issues += find_literal_secrets(normalized.workflow)
    classification = classify(normalized.workflow, tags=tag_names(document.get("tags")))
    normalized.warnings.extend(classification.warnings)
    description = describe(normalized.workflow)
    name = normalized.workflow["name"]
    return Prepared(
        source=source if len(source) <= MAX_SOURCE else "..." + source[-(MAX_SOURCE - 3) :],
        lineage_key=(lineage_key or _slug(name))[:MAX_LINEAGE],
        normalized=normalized,
        classification=classification,
        category=category or derive_category(classification),
        description=description,
        search_text=search_text(normalized.workflow, description=description, classification=classification),
        issues=issues,
    )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workflow"
