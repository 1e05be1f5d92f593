"""Archives, version change summaries, sub-workflow dependencies, selection and ratings."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.errors import NotFound
from spreaders.registry import dependencies, details, ratings, selection
from spreaders.registry import service as registry
from spreaders.registry.models import WorkflowTemplate
from spreaders.registry.schemas import RatingCreate, SelectRequest


def workflow(name: str, *, extra_nodes: list[dict[str, Any]] | None = None, **top: Any) -> dict[str, Any]:
    nodes = [
        {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "parameters": {}},
        {"name": "Say", "type": "n8n-nodes-base.set", "parameters": {"value": name}},
        *(extra_nodes or []),
    ]
    return {
        "name": name,
        "nodes": nodes,
        "connections": {"Start": {"main": [[{"node": "Say", "type": "main", "index": 0}]]}},
        **top,
    }


def calls(target: Any, name: str = "Call helper") -> dict[str, Any]:
    return {"name": name, "type": "n8n-nodes-base.executeWorkflow", "parameters": {"workflowId": target}}


async def test_zip_and_tar_archives_import_and_bad_members_are_reported(
    session: AsyncSession, principal: Principal, tmp_path: Path
) -> None:
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("flows/one.json", json.dumps(workflow("Zipped one")))
        archive.writestr("flows/broken.json", "{ nope")
        archive.writestr("readme.txt", "not a workflow, not json: ignored")
    tarred = tmp_path / "export.tar.gz"
    with tarfile.open(tarred, "w:gz") as archive:
        data = json.dumps(workflow("Tarred two")).encode()
        info = tarfile.TarInfo("two.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip")

    report = await registry.import_paths(session, tenant_id=principal.tenant_id, paths=[zipped, tarred, junk])

    assert report.imported == 2
    reasons = {Path(f.path.split("!")[-1]).name: f.reason for f in report.failed}
    assert set(reasons) == {"broken.json", "junk.zip"}
    assert "not JSON" in reasons["broken.json"]
    assert "zip" in reasons["junk.zip"]


async def test_new_version_says_what_changed(session: AsyncSession, principal: Principal) -> None:
    first = await registry.import_workflow(
        session, tenant_id=principal.tenant_id, document=workflow("Digest"), lineage_key="digest"
    )
    changed = workflow(
        "Digest", extra_nodes=[{"name": "Tidy", "type": "n8n-nodes-base.code", "parameters": {}}]
    )
    second = await registry.import_workflow(
        session, tenant_id=principal.tenant_id, document=changed, lineage_key="digest"
    )

    assert first.change_summary == "first version"
    assert second.version == 2
    assert "1 node(s) added (Tidy)" in second.change_summary


async def test_subworkflow_calls_resolve_to_the_template_with_that_original_id(
    session: AsyncSession, principal: Principal
) -> None:
    caller = await registry.import_workflow(
        session,
        tenant_id=principal.tenant_id,
        document=workflow("Caller", extra_nodes=[calls({"__rl": True, "value": "AbC123", "mode": "list"})]),
    )
    assert await dependencies.unresolved_references(
        session, tenant_id=principal.tenant_id, template_id=caller.id
    ) == ["AbC123"]

    helper = await registry.import_workflow(
        session, tenant_id=principal.tenant_id, document=workflow("Helper", id="AbC123")
    )
    prerequisites = await dependencies.prerequisites(
        session, tenant_id=principal.tenant_id, template_ids=[caller.id]
    )
    assert prerequisites == [helper.id]
    assert (
        await dependencies.unresolved_references(
            session, tenant_id=principal.tenant_id, template_id=caller.id
        )
        == []
    )


async def test_selection_adds_prerequisites_first_and_names_what_is_uncovered(
    session: AsyncSession, principal: Principal
) -> None:
    tags = [{"name": "spreaders:capability=email_campaign"}, {"name": "spreaders:platform=email"}]
    await registry.import_workflow(
        session, tenant_id=principal.tenant_id, document=workflow("Sub step", id="SUB1")
    )
    main = await registry.import_workflow(
        session,
        tenant_id=principal.tenant_id,
        document=workflow(
            "Send the newsletter", extra_nodes=[calls("SUB1"), calls("MISSING9", "Call gone")], tags=tags
        ),
    )

    chosen = await selection.select_templates(
        session,
        tenant_id=principal.tenant_id,
        request=SelectRequest(capabilities=["email_campaign", "ad_campaign"], platforms=["email", "tiktok"]),
    )

    assert [t.id for t in chosen.templates] == [main.id]
    assert [t.name for t in chosen.prerequisites] == ["Sub step"]
    assert chosen.uncovered_capabilities == ["ad_campaign"]
    assert chosen.uncovered_platforms == ["tiktok"]
    assert chosen.unresolved_subworkflows == ["MISSING9"]


async def test_connected_only_selection_keeps_templates_whose_credentials_are_connected(
    session: AsyncSession, principal: Principal
) -> None:
    tags = [{"name": "spreaders:capability=email_campaign"}]
    needs_mailchimp = await registry.import_workflow(
        session, tenant_id=principal.tenant_id, document=workflow("Mailchimp blast", tags=tags)
    )
    row = await session.get_one(WorkflowTemplate, needs_mailchimp.id)
    row.required_credentials = [{"type": "mailchimpApi", "platform": "mailchimp", "nodes": ["Send"]}]
    await session.flush()
    request = SelectRequest(capabilities=["email_campaign"], connected_only=True)

    without = await selection.select_templates(session, tenant_id=principal.tenant_id, request=request)
    with_key = await selection.select_templates(
        session, tenant_id=principal.tenant_id, request=request, connected_credential_types={"mailchimpApi"}
    )

    assert needs_mailchimp.id not in [t.id for t in without.templates]
    assert needs_mailchimp.id in [t.id for t in with_key.templates]


async def test_ratings_are_per_user_replaced_and_private_to_the_tenant(
    session: AsyncSession, principal: Principal
) -> None:
    template = await registry.import_workflow(
        session, tenant_id=principal.tenant_id, document=workflow("Rated")
    )
    colleague = await accounts.create_user(
        session, tenant_id=principal.tenant_id, email="colleague@example.test"
    )
    other_tenant = await accounts.create_tenant(session, name="elsewhere")
    stranger = await accounts.create_user(session, tenant_id=other_tenant.id, email="stranger@example.test")

    await ratings.rate(session, principal=principal, template_id=template.id, data=RatingCreate(rating=2))
    await ratings.rate(session, principal=principal, template_id=template.id, data=RatingCreate(rating=4))
    await ratings.rate(
        session,
        principal=Principal(tenant_id=principal.tenant_id, user_id=colleague.id),
        template_id=template.id,
        data=RatingCreate(rating=5, feedback="works"),
    )

    read = await details.read_template(session, tenant_id=principal.tenant_id, template_id=template.id)
    assert read.rating is not None
    assert (read.rating.average, read.rating.count) == (4.5, 2)
    with pytest.raises(NotFound):
        await ratings.rate(
            session,
            principal=Principal(tenant_id=other_tenant.id, user_id=stranger.id),
            template_id=template.id,
            data=RatingCreate(rating=1),
        )
