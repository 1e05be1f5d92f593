"""The seam to one n8n instance: its public REST API (`/api/v1`, API-key auth) and its webhooks.

Every call has a timeout (the injected client's) and reads are retried a few times on connection
errors and 5xx answers; writes are not retried, so a retried request never creates a second workflow.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from spreaders.errors import NotFound, Unavailable, UpstreamError
from spreaders.streaming_http import StreamingHttp

_RETRYABLE_STATUS = {502, 503, 504}
_LIST_PAGE = 250


def _is_transient(exc: BaseException) -> bool:
    # UpstreamError (a refusal) subclasses Unavailable but is final; only the plain kind is transient.
    return type(exc) is Unavailable


def _n8n_message(response: httpx.Response) -> str:
    return _message_of(response.text)


def _message_of(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body)[:300]
    return str(body)[:300]


class RunDropped(Unavailable):
    """n8n took the request, then closed the connection before answering: the run may be under way."""


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: Any  # the parsed JSON, or None when the answer was not JSON


class N8nClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        streams: StreamingHttp | None = None,
    ) -> None:
        self._http = http
        self._streams = streams  # only runs need it (`stream_webhook`)
        self.base_url = base_url.rstrip("/")
        self._headers = {"X-N8N-API-KEY": api_key, "Accept": "application/json"}

    async def _send(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        try:
            response = await self._http.request(
                method, f"{self.base_url}/api/v1{path}", json=json, params=params, headers=self._headers
            )
            response.raise_for_status()
        except httpx.TransportError as exc:
            raise Unavailable(
                f"n8n at {self.base_url} is not reachable ({exc.__class__.__name__}).",
                hint="Start it with `spreaders n8n start`, or check `spreaders n8n status`.",
            ) from exc
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            message = _n8n_message(exc.response)
            if status == 404:
                raise NotFound(f"n8n has no such resource: {path} ({message}).") from exc
            if status in _RETRYABLE_STATUS:
                raise Unavailable(f"n8n at {self.base_url} answered {status}: {message}") from exc
            raise UpstreamError(f"n8n refused {method} {path}: {status} {message}") from exc
        return response.json() if response.content else None

    async def _read(self, path: str, *, params: Any = None) -> Any:
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(3),
            wait=wait_exponential(multiplier=0.2, max=2),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send("GET", path, params=params)
        raise AssertionError("unreachable")  # pragma: no cover

    async def create_workflow(self, workflow: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._send("POST", "/workflows", json=workflow)
        return result

    async def activate_workflow(self, workflow_id: str) -> None:
        await self._send("POST", f"/workflows/{workflow_id}/activate")

    async def delete_workflow(self, workflow_id: str) -> None:
        await self._send("DELETE", f"/workflows/{workflow_id}")

    async def get_workflow(self, workflow_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._read(f"/workflows/{workflow_id}")
        return result

    async def list_workflows(self, *, limit: int = 100) -> list[dict[str, Any]]:
        result: dict[str, Any] = await self._read("/workflows", params={"limit": limit})
        workflows: list[dict[str, Any]] = result.get("data", [])
        return workflows

    async def all_workflows(self, *, page_size: int = 250) -> list[dict[str, Any]]:
        """Every workflow the key can see, page by page (n8n's public API pages with a cursor)."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": page_size}
        while True:
            page: dict[str, Any] = await self._read("/workflows", params=params)
            found += page.get("data", [])
            if not page.get("nextCursor"):
                return found
            params["cursor"] = page["nextCursor"]

    async def update_workflow(self, workflow_id: str, workflow: dict[str, Any]) -> None:
        """Replace a workflow's name, nodes, connections and settings; an active one goes live at once."""
        body = {key: workflow[key] for key in ("name", "nodes", "connections", "settings") if key in workflow}
        await self._send("PUT", f"/workflows/{workflow_id}", json=body)

    async def credential_schema(self, credential_type: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._read(f"/credentials/schema/{credential_type}")
        return result

    async def create_credential(self, *, name: str, credential_type: str, data: dict[str, Any]) -> str:
        """Create a credential and return its id; n8n never gives its data back."""
        created = await self._send(
            "POST", "/credentials", json={"name": name, "type": credential_type, "data": data}
        )
        return str(created["id"])

    async def delete_credential(self, credential_id: str) -> None:
        await self._send("DELETE", f"/credentials/{credential_id}")

    async def list_executions(self, *, workflow_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """Executions of one workflow, running ones included (n8n leaves those out unless asked).

        One query per status: a run that finishes between two of them is listed by both, and kept
        once, as the later query saw it.
        """
        found: dict[str, dict[str, Any]] = {}
        for status in ("running", "waiting", "success", "error", "canceled"):  # what the API filters by
            params = {"workflowId": workflow_id, "status": status, "limit": limit}
            result: dict[str, Any] = await self._read("/executions", params=params)
            found.update((str(execution.get("id")), execution) for execution in result.get("data", []))
        return list(found.values())

    async def get_execution(self, execution_id: str, *, include_data: bool = True) -> dict[str, Any]:
        params = {"includeData": "true" if include_data else "false"}
        result: dict[str, Any] = await self._read(f"/executions/{execution_id}", params=params)
        return result

    async def execution_ids(self, *, status: str) -> set[str]:
        """Ids of the instance's executions in `status` (all pages)."""
        ids: set[str] = set()
        params: dict[str, Any] = {"status": status, "limit": _LIST_PAGE, "includeData": "false"}
        while True:
            page: dict[str, Any] = await self._read("/executions", params=params)
            ids.update(str(item["id"]) for item in page.get("data", []) if "id" in item)
            cursor = page.get("nextCursor")
            if not cursor:
                return ids
            params = {**params, "cursor": cursor}

    async def recent_executions(
        self, *, workflow_id: str, status: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """The workflow's latest executions, newest first, with their run data.

        Without `status`, n8n leaves out the running ones.
        """
        params: dict[str, Any] = {"workflowId": workflow_id, "limit": limit, "includeData": "true"}
        if status is not None:
            params["status"] = status
        result: dict[str, Any] = await self._read("/executions", params=params)
        executions: list[dict[str, Any]] = result.get("data", [])
        return executions

    @contextlib.asynccontextmanager
    async def _webhook(
        self, path: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST to one of the instance's webhooks, uncompressed, through the streaming client.

        Uncompressed: n8n would spend its own time compressing (and, streaming, flushing every small
        chunk) on the way to this host. No read timeout of its own: a run may take minutes, so the
        caller bounds the whole exchange.
        """
        if self._streams is None:
            raise RuntimeError("this N8nClient was made without the streaming client")
        url = f"{self.base_url}/webhook/{path}"
        try:
            async with self._streams.session.post(
                url, json=payload, headers={"Accept-Encoding": "identity", **headers}
            ) as response:
                if response.status == 404:
                    raise NotFound(
                        "n8n does not know this workflow's entry webhook "
                        "(was it deactivated or deleted in n8n?).",
                        hint="Deploy the template again with workflow.execute or `spreaders demo`.",
                    )
                yield response
        except aiohttp.ClientConnectorError as exc:
            raise Unavailable(
                f"n8n at {self.base_url} is not reachable ({exc.__class__.__name__}).",
                hint="Start it with `spreaders n8n start`, or check `spreaders n8n status`.",
            ) from exc
        except aiohttp.ClientError as exc:
            raise RunDropped(
                f"n8n at {self.base_url} dropped the run's request ({exc.__class__.__name__}).",
                hint="Check `spreaders n8n status`; the execution monitor follows the run up.",
            ) from exc

    @contextlib.asynccontextmanager
    async def stream_webhook(
        self, path: str, payload: dict[str, Any], *, headers: dict[str, str]
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """POST to a streaming webhook; yield its chunks (one JSON object a line) as n8n writes them."""
        async with self._webhook(path, payload, headers) as response:
            if response.status >= 400:
                body = await response.text(errors="replace")
                raise UpstreamError(f"n8n webhook answered {response.status}: {_message_of(body)}")
            yield _chunks(response)

    async def call_webhook(
        self, path: str, payload: dict[str, Any], *, headers: dict[str, str]
    ) -> WebhookAnswer:
        """POST to a webhook n8n answers once (the wait entry: when the run ends); return the answer.

        Any status but 404 (no such webhook) is returned: n8n answers a failed run with a 500.
        """
        async with self._webhook(path, payload, headers) as response:
            text = await response.text(errors="replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        return WebhookAnswer(response.status, body)


async def _chunks(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    # Lines are cut here rather than with the reader's readline, which refuses lines over 128 KiB
    # (a run's result chunk can be larger).
    pending = bytearray()
    async for data in response.content.iter_any():
        pending += data
        end = pending.rfind(b"\n")
        if end < 0:
            continue
        lines = bytes(pending[:end]).split(b"\n")
        del pending[: end + 1]
        for line in lines:
            chunk = _parse(line)
            if chunk is not None:
                yield chunk
    chunk = _parse(bytes(pending))
    if chunk is not None:
        yield chunk


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        chunk = json.loads(line)
    except ValueError:
        return None  # a blank keep-alive line or a node streaming plain text
    return chunk if isinstance(chunk, dict) else None
