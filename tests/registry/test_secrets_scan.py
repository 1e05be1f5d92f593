from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.schemas import Principal
from spreaders.registry import service as registry
from spreaders.registry.secrets_scan import find_literal_secrets

OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"


def http_node(headers: list[dict[str, str]], url: str = "https://api.example.com") -> dict[str, Any]:
    return {
        "name": "Call API",
        "type": "n8n-nodes-base.httpRequest",
        "parameters": {"url": url, "headerParameters": {"parameters": headers}},
    }


def test_literal_authorization_header_is_flagged_without_echoing_it() -> None:
    issues = find_literal_secrets(
        {"nodes": [http_node([{"name": "Authorization", "value": "Bearer abcdef123456789"}])]}
    )
    assert [(i.code, i.level, i.node) for i in issues] == [("literal-secret", "warning", "Call API")]
    assert "abcdef123456789" not in issues[0].message


def test_known_token_shapes_are_flagged_anywhere_in_parameters() -> None:
    issues = find_literal_secrets({"nodes": [http_node([], url=f"https://x.test/?key={OPENAI_KEY}")]})
    assert len(issues) == 1
    assert "OpenAI key" in issues[0].message
    assert OPENAI_KEY not in issues[0].message


def test_expressions_and_placeholders_are_not_secrets() -> None:
    headers = [
        {"name": "Authorization", "value": "=Bearer {{ $json.token }}"},
        {"name": "x-api-key", "value": "YOUR_API_KEY_HERE"},
        {"name": "Accept", "value": "application/json-long-value"},
    ]
    assert find_literal_secrets({"nodes": [http_node(headers)]}) == []


async def test_imported_template_carries_the_literal_secret_warning(
    session: AsyncSession, principal: Principal
) -> None:
    document = {
        "name": "Leaky",
        "nodes": [
            {"name": "Go", "type": "n8n-nodes-base.manualTrigger", "parameters": {}},
            http_node([{"name": "x-api-key", "value": "9Q6HqP2rT8vX1zL4"}]),
        ],
        "connections": {"Go": {"main": [[{"node": "Call API", "type": "main", "index": 0}]]}},
    }
    row = await registry.import_workflow(session, tenant_id=principal.tenant_id, document=document)
    assert [issue["code"] for issue in row.issues if issue["code"] == "literal-secret"] == ["literal-secret"]
    assert row.is_valid  # a warning, not an error: n8n would run it
