"""The error tree mapped once to HTTP answers: `{"error": code, "message": ..., "hint": ...}`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from spreaders.errors import SpreadersError


async def _handle(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SpreadersError)
    body = {"error": exc.code, "message": exc.message, "hint": exc.hint}
    return JSONResponse(status_code=exc.status_code, content=body)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SpreadersError, _handle)
