from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.schemas import Principal
from spreaders.registry import service as registry
from spreaders.registry.schemas import TemplateSearch
from spreaders.registry.search import search_templates


async def test_corpus_imports_with_reasons_for_every_failure(
    session: AsyncSession, principal: Principal, corpus_dir: Path
) -> None:
    report = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[corpus_dir])
    files = sum(1 for _ in (corpus_dir / "workflows").rglob("*.json"))
    assert files == 1506
    assert report.imported >= 1490
    assert all(failure.reason and failure.path for failure in report.failed)
    assert len(report.template_ids) == report.imported

    page = await search_templates(
        session,
        tenant_id=principal.tenant_id,
        query=TemplateSearch(query="new tweets", platforms=["twitter"], trigger_type="manual"),
    )
    assert page.items[0].name == "New tweets"  # words match with OR; the all-words match ranks first
    row = await registry.get_template(session, tenant_id=principal.tenant_id, template_id=page.items[0].id)
    assert row.category == "Social Media Management"  # from the corpus categories.json
    assert row.lineage_key == "0005_Manual_Twitter_Create_Triggered"

    again = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[corpus_dir])
    assert (again.imported, again.new_versions, again.unchanged) == (0, 0, report.imported)
