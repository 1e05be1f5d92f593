"""The llm planner backend against a local OpenAI-compatible server.

The server here stands in for a paid chat-completions API (OpenAI or a hosted model) that cannot run in
this test environment: a small Starlette app served by uvicorn on a free loopback port, answering each
request the way the test scripted it and recording what it received.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
import uvicorn
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spreaders.errors import Invalid
from spreaders.planner.llm import LlmBackend
from spreaders.planner.schemas import CampaignPlan
from spreaders.planner.service import analyze_prompt, select_backend, suggest_improvements
from spreaders.settings import PlannerSettings, Settings

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
KEY = "sk-test-DO-NOT-LEAK-4711"
PROMPT = "launch our spring sneaker drop next Monday for two weeks, $2k budget, for runners in Berlin"


@dataclass
class Reply:
    status: int = 200
    content: str | None = None  # the assistant message; None: `body` is sent as is
    body: Any = None
    hang: bool = False  # never answer (until the test ends): the client must time out


@dataclass
class FakeLlm:
    """What the stand-in server answers next, and what it was sent."""

    base_url: str
    replies: list[Reply] = field(default_factory=list)
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, *replies: Reply) -> None:
        self.replies = list(replies)

    async def handle(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.json()))
        reply = (
            self.replies.pop(0) if self.replies else Reply(status=500, body={"error": "no reply scripted"})
        )
        if reply.hang:
            await self.release.wait()
        if reply.content is not None:
            body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content}}]}
            return JSONResponse(body, status_code=reply.status)
        return JSONResponse(reply.body or {}, status_code=reply.status)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def fake_server() -> AsyncIterator[FakeLlm]:
    """The OpenAI-compatible stand-in on a free loopback port (see the module docstring)."""
    fake = FakeLlm(base_url="")
    app = Starlette(routes=[Route("/v1/chat/completions", fake.handle, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, ws="none", lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            pytest.fail("the stand-in LLM server did not start")
        await asyncio.sleep(0.01)
    fake.base_url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/v1"
    yield fake
    fake.release.set()
    server.should_exit = True
    await asyncio.wait_for(task, timeout=30)


@pytest_asyncio.fixture(loop_scope="session")
async def llm(fake_server: FakeLlm) -> AsyncIterator[FakeLlm]:
    """The stand-in, reset for one test; requests left hanging are released when the test ends."""
    fake_server.replies, fake_server.requests = [], []
    fake_server.release = asyncio.Event()
    yield fake_server
    fake_server.release.set()


def _settings(llm: FakeLlm, **overrides: Any) -> PlannerSettings:
    values: dict[str, Any] = {
        "backend": "llm",
        "llm_base_url": llm.base_url,
        "llm_model": "stand-in-model",
        "llm_api_key": SecretStr(KEY),
        "llm_timeout_s": 5.0,
        "llm_max_retries": 0,
        "llm_retry_backoff_s": 0.0,
    }
    return PlannerSettings(**(values | overrides))


async def _plan(llm: FakeLlm, **overrides: Any) -> CampaignPlan:
    async with httpx.AsyncClient() as http:
        backend = LlmBackend(settings=_settings(llm, **overrides), http=http)
        return await analyze_prompt(PROMPT, now=NOW, tz="Europe/Berlin", backend=backend)


GOOD = {
    "name": "Spring sneaker drop",
    "campaign_type": "product_launch",
    "objectives": ["drive_sales", "grow_awareness"],
    "platforms": ["Instagram", "X", "email", "MySpace"],
    "content_requirements": ["images", "reels"],
    "timeline": {"start": "2026-03-09", "end": "2026-03-22", "duration_days": 14, "text": "next Monday"},
    "budget": {"amount": 2000, "currency": "usd", "split": {"IG": 1500, "email": 500}},
    "target_audience": {"age_min": 18, "age_max": 35, "locations": ["Berlin"], "interests": ["running"]},
}


async def test_good_answer_becomes_the_plan_with_names_normalised_through_the_vocabulary(
    llm: FakeLlm,
) -> None:
    llm.answer(Reply(content=json.dumps(GOOD)))

    plan = await _plan(llm)

    assert plan.provenance.backend == "llm"
    assert plan.platforms == ["instagram", "twitter", "email"]
    assert "dropped unknown platform 'MySpace'" in plan.provenance.notes
    assert plan.budget.currency == "USD"
    assert plan.budget.split == {"instagram": 1500, "email": 500}
    assert plan.timeline.start == date(2026, 3, 9) and plan.timeline.end == date(2026, 3, 22)
    assert {"email_campaign", "social_publishing", "content_generation_video"} <= set(plan.required_workflows)
    assert "videos" in plan.content_requirements  # reels are videos, and the vocabulary says so
    assert all(m.field != "platforms" for m in plan.missing)


async def test_request_carries_the_key_as_bearer_the_schema_the_reference_date_and_the_draft(
    llm: FakeLlm,
) -> None:
    llm.answer(Reply(content=json.dumps(GOOD)))

    await _plan(llm)

    [(headers, body)] = llm.requests
    assert headers["authorization"] == f"Bearer {KEY}"
    assert body["model"] == "stand-in-model"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["properties"]["campaign_type"]
    system, user = body["messages"]
    assert system["role"] == "system" and "facebook_ads" in system["content"]
    assert "2026-03-05 (Thursday), time zone Europe/Berlin" in user["content"]
    assert PROMPT in user["content"] and '"campaign_type": "product_launch"' in user["content"]


async def test_server_refusing_json_schema_is_asked_again_for_a_json_object(llm: FakeLlm) -> None:
    refusal = Reply(status=400, body={"error": "response_format json_schema is not supported"})
    llm.answer(refusal, Reply(content=json.dumps(GOOD)))

    plan = await _plan(llm)

    assert [body["response_format"]["type"] for _, body in llm.requests] == ["json_schema", "json_object"]
    assert plan.provenance.backend == "llm"


async def test_invalid_json_answer_falls_back_to_the_offline_plan_with_the_reason(llm: FakeLlm) -> None:
    llm.answer(Reply(content='Sure! Here is your plan: {"name": "Spring'))

    plan = await _plan(llm)

    assert plan.provenance.backend == "offline"
    assert any(n.startswith("llm failed: the answer is not valid JSON") for n in plan.provenance.notes)
    assert plan.timeline.start == date(2026, 3, 9)  # the offline plan itself is intact


async def test_schema_violating_answer_falls_back_to_the_offline_plan(llm: FakeLlm) -> None:
    llm.answer(Reply(content=json.dumps(GOOD | {"campaign_type": "mega_launch"})))

    plan = await _plan(llm)

    assert plan.provenance.backend == "offline"
    [note] = [n for n in plan.provenance.notes if n.startswith("llm failed")]
    assert "does not match the plan schema" in note and "campaign_type" in note


async def test_empty_answer_falls_back_to_the_offline_plan(llm: FakeLlm) -> None:
    llm.answer(Reply(content="   "))

    plan = await _plan(llm)

    assert plan.provenance.backend == "offline"
    assert "llm failed: the answer was empty" in plan.provenance.notes


async def test_server_error_is_retried_then_falls_back_with_the_status(llm: FakeLlm) -> None:
    llm.answer(Reply(status=500, body={"error": "boom"}), Reply(status=503, body={"error": "busy"}))

    plan = await _plan(llm, llm_max_retries=1)

    assert len(llm.requests) == 2
    assert plan.provenance.backend == "offline"
    assert "llm failed: the endpoint answered HTTP 503" in plan.provenance.notes


async def test_server_error_then_success_uses_the_model(llm: FakeLlm) -> None:
    llm.answer(Reply(status=502, body={}), Reply(content=json.dumps(GOOD)))

    plan = await _plan(llm, llm_max_retries=1)

    assert plan.provenance.backend == "llm"


async def test_timeout_falls_back_to_the_offline_plan(llm: FakeLlm) -> None:
    llm.answer(Reply(hang=True))

    plan = await _plan(llm, llm_timeout_s=0.2)

    assert plan.provenance.backend == "offline"
    assert any(n.startswith("llm failed: no answer within 0.2 s") for n in plan.provenance.notes)


async def test_unreachable_endpoint_falls_back_to_the_offline_plan(llm: FakeLlm) -> None:
    plan = await _plan(llm, llm_base_url="http://127.0.0.1:9/v1")

    assert plan.provenance.backend == "offline"
    assert any(n.startswith("llm failed: cannot reach the endpoint") for n in plan.provenance.notes)


async def test_invalid_model_dates_keep_the_offline_dates_and_the_rest_of_the_answer(llm: FakeLlm) -> None:
    bad_dates = GOOD | {"timeline": {"start": "2026-03-20", "end": "2026-03-09"}}
    llm.answer(Reply(content=json.dumps(bad_dates)))

    plan = await _plan(llm)

    assert plan.provenance.backend == "llm"
    assert (plan.timeline.start, plan.timeline.end) == (date(2026, 3, 9), date(2026, 3, 22))
    assert "kept the offline dates: the model's timeline ends before it starts" in plan.provenance.notes
    assert "twitter" in plan.platforms


async def test_model_start_in_the_past_keeps_the_offline_dates(llm: FakeLlm) -> None:
    llm.answer(Reply(content=json.dumps(GOOD | {"timeline": {"start": "2025-03-09", "duration_days": 14}})))

    plan = await _plan(llm)

    assert plan.timeline.start == date(2026, 3, 9)
    assert any("is before 2026-03-05" in n for n in plan.provenance.notes)


async def test_api_key_never_reaches_the_logs_or_the_plan(
    llm: FakeLlm, caplog: pytest.LogCaptureFixture
) -> None:
    llm.answer(Reply(content=json.dumps(GOOD)), Reply(status=500, body={"error": KEY}))

    with caplog.at_level(logging.DEBUG):
        good = await _plan(llm)
        failed = await _plan(llm)

    assert failed.provenance.backend == "offline" and good.provenance.backend == "llm"
    assert caplog.records, "the backend logs what it does"
    assert KEY not in caplog.text
    assert KEY not in good.model_dump_json() + failed.model_dump_json()
    assert KEY not in repr(_settings(llm))


async def test_suggestions_come_from_the_model_when_it_answers(llm: FakeLlm) -> None:
    plan = await analyze_prompt(PROMPT, now=NOW, tz="Europe/Berlin")
    answer = {
        "suggestions": [
            {"kind": "channels", "text": "Add Instagram reels of runners in Berlin.", "field": "platforms"},
            {"kind": "timing", "text": "Start teasers on 2026-03-06.", "field": "timeline.start"},
            {"kind": "budget", "text": "Put 1,500 USD on Instagram ads.", "field": "budget.split"},
        ]
    }
    llm.answer(Reply(content=json.dumps(answer)))

    async with httpx.AsyncClient() as http:
        found = await suggest_improvements(plan, backend=LlmBackend(settings=_settings(llm), http=http))

    assert found.provenance.backend == "llm"
    assert [s.kind for s in found.suggestions] == ["channels", "timing", "budget"]
    [(_, body)] = llm.requests
    assert body["response_format"]["json_schema"]["name"] == "plan_suggestions"


async def test_failed_suggestions_fall_back_to_the_offline_rules(llm: FakeLlm) -> None:
    plan = await analyze_prompt(PROMPT, now=NOW, tz="Europe/Berlin")
    llm.answer(Reply(content='{"suggestions": []}'))

    async with httpx.AsyncClient() as http:
        found = await suggest_improvements(plan, backend=LlmBackend(settings=_settings(llm), http=http))

    assert found.provenance.backend == "offline"
    assert found.provenance.notes[0].startswith(
        "llm failed: the answer does not match the suggestions schema"
    )
    assert 3 <= len(found.suggestions) <= 5


async def test_llm_backend_without_endpoint_is_refused_by_settings_and_by_selection() -> None:
    with pytest.raises(ValidationError, match="LLM_BASE_URL"):
        PlannerSettings(backend="llm")
    async with httpx.AsyncClient() as http:
        assert select_backend(PlannerSettings(), http) is None
        with pytest.raises(Invalid, match="not configured"):
            select_backend(PlannerSettings(), http, "llm")


async def test_cli_plan_with_the_llm_backend_asks_the_configured_endpoint(
    llm: FakeLlm, settings: Settings
) -> None:
    llm.answer(Reply(content=json.dumps(GOOD)))
    environment = {
        **os.environ,
        "SPREADERS_DATA_DIR": str(settings.data_dir),
        "SPREADERS_PLANNER__LLM_BASE_URL": llm.base_url,
        "SPREADERS_PLANNER__LLM_MODEL": "stand-in-model",
        "SPREADERS_PLANNER__LLM_API_KEY": KEY,
    }
    args = [
        "plan",
        PROMPT,
        "--json",
        "--now",
        "2026-03-05T10:00:00",
        "--tz",
        "Europe/Berlin",
        "--backend",
        "llm",
    ]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "spreaders.cli.main", *args,
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, err.decode()
    plan = json.loads(out)
    assert plan["provenance"]["backend"] == "llm"
    assert plan["platforms"] == ["instagram", "twitter", "email"]
    [(headers, _)] = llm.requests
    assert headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in (settings.data_dir / "spreaders.log").read_text()
