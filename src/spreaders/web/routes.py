"""Connect pages: the browser side of `credential.connect`, where users type secrets the AI never sees."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from spreaders.api.deps import Ctx
from spreaders.errors import Conflict, Invalid, NotFound, SpreadersError
from spreaders.vault import service as vault
from spreaders.vault.errors import ConnectLinkExpired, ConnectLinkUsed
from spreaders.web import pages

router = APIRouter()

_LINK_STATES = (NotFound, Conflict, Invalid)


def _html(content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status_code, headers=pages.HEADERS)


def _link_problem(exc: SpreadersError) -> HTMLResponse:
    if isinstance(exc, ConnectLinkUsed):
        title, status = "This link was already used", 409
    elif isinstance(exc, ConnectLinkExpired):
        title, status = "This link has expired", 410
    elif isinstance(exc, NotFound):
        title, status = "This link is not valid", 404
    else:
        title, status = "This platform cannot be connected here", exc.status_code
    return _html(pages.link_problem(title, str(exc)), status)


@router.get("/connect/{token}", response_class=HTMLResponse)
async def connect_page(token: str, ctx: Ctx) -> HTMLResponse:
    """Show the connect form for a pending link, or say why the link cannot be used."""
    try:
        async with ctx.unit_of_work() as session:
            view = await vault.open_connect_request(session, token=token)
    except _LINK_STATES as exc:
        return _link_problem(exc)
    return _html(pages.connect_form(view))


@router.post("/connect/{token}", response_class=HTMLResponse)
async def connect_submit(token: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """Seal the submitted values; on a mistake show the form again with the reason."""
    form = await request.form()
    values = {
        key.removeprefix(pages.FIELD_PREFIX): value
        for key, value in form.multi_items()
        if key.startswith(pages.FIELD_PREFIX) and isinstance(value, str)
    }
    label = form.get("label")
    label = label if isinstance(label, str) else ""
    try:
        async with ctx.unit_of_work() as session:
            view = await vault.open_connect_request(session, token=token)
    except _LINK_STATES as exc:
        return _link_problem(exc)
    try:
        async with ctx.unit_of_work() as session:
            await vault.complete_api_key_connect(session, ctx.cipher, token=token, values=values, label=label)
    except (NotFound, ConnectLinkUsed, ConnectLinkExpired) as exc:
        return _link_problem(exc)
    except Invalid as exc:
        kept = {f.name: values.get(f.name, "") for f in view.fields if not f.secret} | {"label": label}
        return _html(pages.connect_form(view, error=str(exc), kept=kept), 422)
    return _html(pages.connected(view.display_name))
