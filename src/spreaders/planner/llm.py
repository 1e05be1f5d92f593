"""The `llm` backend: any OpenAI-compatible chat-completions endpoint, over the injected httpx client.

    POST {llm_base_url}/chat/completions   Authorization: Bearer <llm_api_key>
    {"model", "messages": [system, user], "temperature": 0, "max_tokens",
     "response_format": {"type": "json_schema", ...}}   -> json_object if the server refuses json_schema

Timeouts, connection errors, 429 and 5xx are retried (`llm_max_retries`, exponential backoff); every
failure ends as `ModelFailed` with a message that names the status or error class, never the key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, Literal

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from spreaders.planner.prompting import ModelFailed, ModelRequest
from spreaders.settings import PlannerSettings

logger = logging.getLogger(__name__)

_REFUSED_FORMAT: Final = frozenset({400, 404, 415, 422, 501})


class _Retryable(Exception):
    """A failure worth another attempt (timeout, connection error, 429, 5xx)."""


@dataclass(frozen=True)
class LlmBackend:
    """Ask the configured OpenAI-compatible model."""

    settings: PlannerSettings
    http: httpx.AsyncClient

    @property
    def name(self) -> Literal["llm"]:
        return "llm"

    async def complete(self, request: ModelRequest) -> str:
        """Send `request`, trying a json_schema answer first and a plain JSON object if that is refused."""
        structured = {
            "type": "json_schema",
            "json_schema": {"name": request.schema_name, "schema": request.schema, "strict": False},
        }
        response = await self._post(request, structured)
        if response.status_code in _REFUSED_FORMAT:
            logger.info(
                "LLM endpoint refused json_schema (%s); retrying with json_object", response.status_code
            )
            response = await self._post(request, {"type": "json_object"})
        if response.status_code >= 400:
            raise ModelFailed(f"the endpoint answered HTTP {response.status_code}")
        return _content(response)

    async def _post(self, request: ModelRequest, response_format: dict[str, Any]) -> httpx.Response:
        body = {
            "model": self.settings.llm_model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "temperature": 0,
            "max_tokens": self.settings.llm_max_tokens,
            "response_format": response_format,
        }
        key = self.settings.llm_api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        url = self.settings.llm_base_url.rstrip("/") + "/chat/completions"
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.llm_max_retries + 1),
            wait=wait_exponential(multiplier=self.settings.llm_retry_backoff_s, max=8),
            retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send(url, body, headers)
        except _Retryable as exc:
            raise ModelFailed(str(exc)) from exc
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    async def _send(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        logger.debug("LLM request to %s with model %s", url, self.settings.llm_model)
        try:
            response = await self.http.post(
                url, json=body, headers=headers, timeout=self.settings.llm_timeout_s
            )
        except httpx.TimeoutException as exc:
            raise _Retryable(
                f"no answer within {self.settings.llm_timeout_s:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"cannot reach the endpoint ({type(exc).__name__})") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(f"the endpoint answered HTTP {response.status_code}")
        return response


def _content(response: httpx.Response) -> str:
    try:
        payload = response.json()
        content = payload["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ModelFailed("the endpoint's reply is not a chat completion") from exc
    if not isinstance(content, str) or not content.strip():
        raise ModelFailed("the answer was empty")
    return content
