"""Connect pages: the browser side of `credential.connect`, where users type secrets the AI never sees or
sign in at an OAuth provider (`/connect/{token}` then `/connect/oauth/{platform}/callback`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from spreaders.api.deps import Ctx
from spreaders.bootstrap import AppContext
from spreaders.errors import Conflict, Forbidden, Invalid, NotFound, SpreadersError, Unavailable
from spreaders.vault import oauth as vault_oauth
from spreaders.vault import service as vault
from spreaders.vault.errors import ConnectLinkExpired, ConnectLinkUsed
from spreaders.vault.schemas import ConnectRequestView
from spreaders.web import pages

router = APIRouter()

_LINK_STATES = (NotFound, Conflict, Invalid)
_CALLBACK_STATES = (NotFound, Conflict, Invalid, Forbidden, Unavailable)


def _html(content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status_code, headers=pages.HEADERS)


def _link_problem(exc: SpreadersError) -> HTMLResponse:
    if isinstance(exc, ConnectLinkUsed):
        title, status = "This link was already used", 409
    elif isinstance(exc, ConnectLinkExpired):
        title, status = "This link has expired", 410
    elif isinstance(exc, NotFound):
        title, status = "This link is not valid", 404
    elif isinstance(exc, Forbidden):
        title, status = "Finish in the browser you started in", 403
    elif isinstance(exc, Unavailable):
        title, status = "The provider could not be reached", exc.status_code
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
    if view.kind == "oauth2":
        return _oauth_start_page(ctx, view)
    return _html(pages.connect_form(view))


def _oauth_start_page(ctx: AppContext, view: ConnectRequestView) -> HTMLResponse:
    try:
        app = vault_oauth.oauth_app(ctx.settings.oauth, view.platform, base_url=ctx.settings.api.base_url())
    except Invalid as exc:
        return _link_problem(exc)
    target = urlsplit(app.authorize_url)
    origin = f"{target.scheme}://{target.netloc}"
    return HTMLResponse(pages.oauth_start(view), headers=pages.headers_leaving_for(origin))


async def _leave_for_provider(token: str, ctx: AppContext) -> Response:
    """Use up the link and send the browser to the provider; the PKCE verifier rides a cookie."""
    oauth = vault_oauth.OAuthContext.of(ctx.cipher, ctx.settings)
    try:
        async with ctx.unit_of_work() as session:
            request = await vault.pending_request(session, token)
            started = await vault_oauth.begin_authorization(session, oauth, request=request)
    except _LINK_STATES as exc:
        return _link_problem(exc)
    response = RedirectResponse(started.url, status_code=303, headers=pages.HEADERS)
    response.set_cookie(
        started.cookie_name,
        started.verifier,
        max_age=ctx.settings.oauth.state_ttl_s,
        path=started.cookie_path,
        secure=oauth.base_url.startswith("https://"),
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back, not on cross-site posts
    )
    return response


@router.get("/connect/oauth/{platform}/callback", response_class=HTMLResponse)
async def oauth_callback(platform: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """Finish an OAuth sign-in: check and use up the state, exchange the code, seal the tokens."""
    oauth = vault_oauth.OAuthContext.of(ctx.cipher, ctx.settings)
    params = request.query_params
    state = params.get("state", "")
    cookie = vault_oauth.verifier_cookie_name(state)
    verifier = request.cookies.get(cookie)
    try:
        # Two units of work: the state stays used even when the exchange then fails.
        async with ctx.unit_of_work() as session:
            pending = await vault_oauth.claim_callback(
                session, oauth, platform=platform, state=state, verifier=verifier
            )
        assert verifier is not None  # claim_callback refuses a callback without one
        async with ctx.unit_of_work() as session:
            created = await vault_oauth.finish_authorization(
                session,
                oauth,
                request=pending,
                code=params.get("code"),
                error=params.get("error"),
                verifier=verifier,
            )
    except _CALLBACK_STATES as exc:
        response = _link_problem(exc)
    else:
        response = _html(pages.connected(created.label))
    if verifier is not None:
        response.delete_cookie(cookie, path=vault_oauth.CALLBACK_PATH.format(platform=platform))
    return response


@router.post("/connect/{token}", response_class=HTMLResponse)
async def connect_submit(token: str, request: Request, ctx: Ctx) -> Response:
    """Seal the submitted values (or, for OAuth, go sign in); on a mistake show the form with the reason."""
    try:
        async with ctx.unit_of_work() as session:
            view = await vault.open_connect_request(session, token=token)
    except _LINK_STATES as exc:
        return _link_problem(exc)
    if view.kind == "oauth2":
        return await _leave_for_provider(token, ctx)
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
            await vault.complete_api_key_connect(session, ctx.cipher, token=token, values=values, label=label)
    except (NotFound, ConnectLinkUsed, ConnectLinkExpired) as exc:
        return _link_problem(exc)
    except Invalid as exc:
        kept = {f.name: values.get(f.name, "") for f in view.fields if not f.secret} | {"label": label}
        return _html(pages.connect_form(view, error=str(exc), kept=kept), 422)
    return _html(pages.connected(view.display_name))
