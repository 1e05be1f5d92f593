from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.errors import Invalid, NotFound
from spreaders.monitor.models import WorkflowExecution
from spreaders.registry import selection
from spreaders.registry import service as registry
from spreaders.registry.models import WorkflowTemplate
from spreaders.registry.schemas import TemplateRead, TemplateSearch
from spreaders.registry.search import search_templates

from .runs import finish_runs


def document(text: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {
        "name": "Greeting",
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "parameters": {}},
            {"name": "Say", "type": "n8n-nodes-base.set", "parameters": {"value": text}},
        ],
        "connections": {"Start": {"main": [[{"node": "Say", "type": "main", "index": 0}]]}},
        **extra,
    }


def write(path: Path, content: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


async def test_imported_workflow_is_stored_normalised_and_classified(
    session: AsyncSession, principal: Principal
) -> None:
    row = await registry.import_workflow(
        session, tenant_id=principal.tenant_id, document=document(meta={"instanceId": "x"}), source="unit"
    )
    read = TemplateRead.model_validate(row)
    assert (read.name, read.version, read.trigger_type, read.self_contained) == (
        "Greeting",
        1,
        "manual",
        True,
    )
    assert read.node_count == 2
    assert "meta" not in read.workflow
    assert row.original["meta"] == {"instanceId": "x"}
    assert row.lineage_key == "greeting"
    assert len(row.content_hash) == 64
    assert "greeting" in row.search_text and "say" in row.search_text


async def test_reimporting_identical_content_is_unchanged(
    session: AsyncSession, principal: Principal, tmp_path: Path
) -> None:
    file = write(tmp_path / "0001_Greeting.json", document())
    first = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[file])
    again = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[file])
    assert (first.imported, first.unchanged) == (1, 0)
    assert (again.imported, again.new_versions, again.unchanged) == (0, 0, 1)
    assert again.template_ids == first.template_ids


async def test_reimporting_identical_content_fills_the_input_types_an_older_import_lacks(
    session: AsyncSession, principal: Principal, tmp_path: Path
) -> None:
    typed = {"assignments": {"assignments": [{"name": "n", "value": "={{ $json.n }}", "type": "number"}]}}
    workflow = document()
    workflow["nodes"][1]["parameters"] = typed
    file = write(tmp_path / "0001_Typed.json", workflow)
    first = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[file])
    # As a row stored before the registry read input types (migration 0017 left it empty).
    await session.execute(update(WorkflowTemplate).values(input_types={}))

    again = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[file])

    assert (again.unchanged, again.template_ids) == (1, first.template_ids)
    row = await registry.get_template(
        session, tenant_id=principal.tenant_id, template_id=first.template_ids[0]
    )
    await session.refresh(row)
    assert (row.required_inputs, row.input_types, row.version) == (["n"], {"n": "number"}, 1)


async def test_changed_content_becomes_a_new_active_version(
    session: AsyncSession, principal: Principal, tmp_path: Path
) -> None:
    file = write(tmp_path / "0001_Greeting.json", document("Hello"))
    first = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[file])
    write(file, document("Bonjour"))
    second = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[file])
    assert (second.imported, second.new_versions) == (0, 1)

    old = await registry.get_template(
        session, tenant_id=principal.tenant_id, template_id=first.template_ids[0]
    )
    new = await registry.get_template(
        session, tenant_id=principal.tenant_id, template_id=second.template_ids[0]
    )
    assert (old.version, old.is_active) == (1, False)
    assert (new.version, new.is_active) == (2, True)
    assert old.lineage_key == new.lineage_key == "0001_Greeting"

    page = await search_templates(
        session, tenant_id=principal.tenant_id, query=TemplateSearch(query="greeting")
    )
    assert [item.id for item in page.items] == [new.id]
    assert page.items[0].version == 2


async def test_leftover_only_changes_do_not_make_a_new_version(
    session: AsyncSession, principal: Principal
) -> None:
    first = await registry.import_workflow(session, tenant_id=principal.tenant_id, document=document())
    again = await registry.import_workflow(
        session, tenant_id=principal.tenant_id, document=document(id="77", pinData={"Start": [{"json": {}}]})
    )
    assert again.id == first.id


async def test_malformed_document_is_invalid(session: AsyncSession, principal: Principal) -> None:
    with pytest.raises(Invalid) as caught:
        await registry.import_workflow(
            session, tenant_id=principal.tenant_id, document={"name": "x", "nodes": "?"}
        )
    assert "'nodes' must be a list" in str(caught.value)


async def test_workflow_with_nul_characters_is_refused_before_it_reaches_the_database(
    session: AsyncSession, principal: Principal, tmp_path: Path
) -> None:
    with pytest.raises(Invalid) as caught:
        await registry.import_workflow(session, tenant_id=principal.tenant_id, document=document("a\u0000b"))
    assert "NUL" in str(caught.value)
    report = await registry.import_paths(
        session, tenant_id=principal.tenant_id, paths=[write(tmp_path / "nul.json", document("a\u0000b"))]
    )
    assert report.imported == 0
    assert "NUL" in report.failed[0].reason


async def test_another_tenant_can_neither_get_nor_find_a_template(
    session: AsyncSession, principal: Principal
) -> None:
    row = await registry.import_workflow(session, tenant_id=principal.tenant_id, document=document())
    other = await accounts.create_tenant(session, name="someone else")
    with pytest.raises(NotFound) as caught:
        await registry.get_template(session, tenant_id=other.id, template_id=row.id)
    assert "workflow.search" in str(caught.value)
    page = await search_templates(session, tenant_id=other.id, query=TemplateSearch(query="greeting"))
    assert (page.total, page.items) == (0, [])
    assert (
        await selection.select_for_requirements(
            session, tenant_id=other.id, capabilities=["scheduling"], platforms=[]
        )
        == []
    )


async def test_missing_template_is_not_found(session: AsyncSession, principal: Principal) -> None:
    with pytest.raises(NotFound):
        await registry.get_template(session, tenant_id=principal.tenant_id, template_id="wft_nope")


async def test_bad_files_are_reported_with_reasons_and_the_rest_imported(
    session: AsyncSession, principal: Principal, tmp_path: Path
) -> None:
    write(tmp_path / "good.json", document())
    write(tmp_path / "nested" / "two.json", json.dumps(document("a")) + json.dumps(document("b")))
    write(tmp_path / "notes.json", "TODO: export the workflow")
    write(tmp_path / "config.json", {"apiVersion": 2})
    (tmp_path / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    report = await registry.import_paths(
        session, tenant_id=principal.tenant_id, paths=[tmp_path, tmp_path / "missing.json"]
    )
    assert report.imported == 3
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    assert reasons == {
        "config.json": "JSON object has no 'nodes' list, so it is not an n8n workflow",
        "latin1.json": "not UTF-8 text",
        "missing.json": "no such file or folder",
        "notes.json": "not JSON: Expecting value at line 1 column 1",
    }


async def test_several_workflows_in_one_file_get_their_own_lineages(
    session: AsyncSession, principal: Principal, tmp_path: Path
) -> None:
    file = write(tmp_path / "pair.json", [document("a"), document("b")])
    report = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[file])
    rows = [
        await registry.get_template(session, tenant_id=principal.tenant_id, template_id=i)
        for i in report.template_ids
    ]
    assert [row.lineage_key for row in rows] == ["pair#0", "pair#1"]


async def test_categories_come_from_the_mapping_or_the_corpus_layout(
    session: AsyncSession, principal: Principal, tmp_path: Path
) -> None:
    write(tmp_path / "workflows" / "Manual" / "0001_Greeting.json", document())
    write(tmp_path / "workflows" / "Manual" / "0002_Other.json", document("other"))
    write(
        tmp_path / "categories.json", [{"filename": "0001_Greeting.json", "category": "Project Management"}]
    )
    report = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[tmp_path])
    assert (report.imported, report.failed) == (2, [])
    rows = [
        await registry.get_template(session, tenant_id=principal.tenant_id, template_id=i)
        for i in report.template_ids
    ]
    assert [row.category for row in rows] == ["Project Management", "Uncategorized"]

    explicit = await registry.import_paths(
        session,
        tenant_id=principal.tenant_id,
        paths=[write(tmp_path / "elsewhere" / "x.json", document("x"))],
        categories={"x.json": "CRM & Sales"},
    )
    row = await registry.get_template(
        session, tenant_id=principal.tenant_id, template_id=explicit.template_ids[0]
    )
    assert row.category == "CRM & Sales"


async def test_runs_are_counted_once_when_they_finish(session: AsyncSession, principal: Principal) -> None:
    row = await registry.import_workflow(session, tenant_id=principal.tenant_id, document=document())
    await finish_runs(
        session, tenant_id=principal.tenant_id, template_id=row.id, succeeded=(True, True, False)
    )
    await session.refresh(row)
    assert (row.usage_count, row.success_count) == (3, 2)
    # A run moved from one finished status to another is not counted again.
    runs = WorkflowExecution.template_id == row.id
    await session.execute(update(WorkflowExecution).where(runs).values(status="crashed"))
    await session.execute(update(WorkflowExecution).where(runs).values(status="success"))
    await session.refresh(row)
    assert (row.usage_count, row.success_count) == (3, 2)
