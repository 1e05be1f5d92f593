"""The one error tree of the platform.

    SpreadersError            every expected failure; carries a message and what to do next
    ├── NotFound              the id does not exist for this tenant (also: another tenant's id)
    ├── Invalid               the caller's input is wrong
    ├── Conflict              the request clashes with existing state (duplicate, already running)
    ├── Unauthorized          no or bad credentials
    ├── Forbidden             authenticated but not allowed
    └── Unavailable           an engine the platform needs is down or missing
        └── UpstreamError     an outside system (n8n, a provider) answered with an error

Front doors map these once: HTTP statuses in `api/`, tool errors in `mcp/`, exit code 1 in `cli/`.
"""

from __future__ import annotations


class SpreadersError(Exception):
    status_code = 500
    code = "internal"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class NotFound(SpreadersError):
    status_code = 404
    code = "not_found"


class Invalid(SpreadersError):
    status_code = 422
    code = "invalid"


class Conflict(SpreadersError):
    status_code = 409
    code = "conflict"


class Unauthorized(SpreadersError):
    status_code = 401
    code = "unauthorized"


class Forbidden(SpreadersError):
    status_code = 403
    code = "forbidden"


class Unavailable(SpreadersError):
    status_code = 503
    code = "unavailable"


class UpstreamError(Unavailable):
    status_code = 502
    code = "upstream_error"
