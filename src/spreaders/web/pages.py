"""Server-rendered HTML for the connect pages. Every interpolated value goes through `escape`."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from spreaders.vault.schemas import ConnectRequestView

FIELD_PREFIX = "field_"

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330}
main{max-width:440px;margin:48px auto;padding:32px;background:#fff;border-radius:12px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.35rem;margin:0 0 8px}
p{margin:0 0 16px}
.muted{color:#5b6475;font-size:.9rem}
label{display:block;font-weight:600;margin:16px 0 4px}
input{width:100%;padding:10px 12px;border:1px solid #c9ced8;border-radius:8px;font:inherit}
input:focus{outline:2px solid #3b6ef5;border-color:transparent}
button{margin-top:24px;width:100%;padding:12px;border:0;border-radius:8px;background:#3b6ef5;color:#fff;
font:inherit;font-weight:600;cursor:pointer}
.error{padding:12px;border-radius:8px;background:#fdecec;color:#8a1c1c;margin-bottom:16px}
.ok{color:#17693a}
"""

HEADERS = {
    "Cache-Control": "no-store",
    # The page URL carries the connect token: never leak it to another site through Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}


def headers_leaving_for(origin: str) -> dict[str, str]:
    """HEADERS for a page whose form redirects to `origin` (browsers check form-action on redirects)."""
    csp = HEADERS["Content-Security-Policy"].replace("form-action 'self'", f"form-action 'self' {origin}")
    return {**HEADERS, "Content-Security-Policy": csp}


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title><style>{_CSS}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )


def connect_form(view: ConnectRequestView, *, error: str = "", kept: Mapping[str, str] | None = None) -> str:
    """The form for an API-key or basic connection; only non-secret values in `kept` are shown again."""
    kept = kept or {}
    inputs = []
    for field in view.fields:
        name = escape(FIELD_PREFIX + field.name)
        if field.secret:
            kind, value, extra = "password", "", ' autocomplete="off" spellcheck="false"'
        else:
            kind, value, extra = "text", kept.get(field.name, ""), ""
        inputs.append(
            f'<label for="{name}">{escape(field.label)}</label>'
            f'<input id="{name}" name="{name}" type="{kind}" value="{escape(value)}"'
            f' placeholder="{escape(field.placeholder)}"{" required" if field.required else ""}{extra}>'
        )
    label_value = escape(kept.get("label", ""))
    error_html = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    help_html = f'<p class="muted">{escape(view.help)}</p>' if view.help else ""
    expires = view.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"<h1>Connect {escape(view.display_name)}</h1>"
        f"{error_html}{help_html}"
        '<p class="muted">What you enter here is encrypted and stored for your workflows. '
        "It is never shown to your assistant.</p>"
        f'<form method="post" autocomplete="off">{"".join(inputs)}'
        '<label for="label">Name for this connection (optional)</label>'
        f'<input id="label" name="label" type="text" value="{label_value}" maxlength="200">'
        '<button type="submit">Connect</button></form>'
        f'<p class="muted">This link works once and expires at {escape(expires)}.</p>'
    )
    return _page(f"Connect {view.display_name}", body)


def oauth_start(view: ConnectRequestView) -> str:
    """The OAuth page: what will be asked, and one button that sends the user to the provider."""
    scopes = "".join(f"<li><code>{escape(scope)}</code></li>" for scope in view.scopes)
    scopes_html = f'<p class="muted">Access asked for:</p><ul class="muted">{scopes}</ul>' if scopes else ""
    help_html = f'<p class="muted">{escape(view.help)}</p>' if view.help else ""
    expires = view.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"<h1>Connect {escape(view.display_name)}</h1>{help_html}"
        f"<p>You will sign in at {escape(view.display_name)} and allow Spreaders to act for you there. "
        "The tokens it gives are encrypted and never shown to your assistant.</p>"
        f'{scopes_html}<form method="post"><button type="submit">Continue to '
        f"{escape(view.display_name)}</button></form>"
        f'<p class="muted">This link works once and expires at {escape(expires)}.</p>'
    )
    return _page(f"Connect {view.display_name}", body)


def connected(display_name: str) -> str:
    body = (
        f'<h1 class="ok">{escape(display_name)} connected</h1>'
        "<p>Connected. You can close this tab and go back to your assistant.</p>"
    )
    return _page("Connected", body)


def link_problem(title: str, message: str) -> str:
    """A dead-end page (unknown, used or expired link) that says what to do next."""
    body = (
        f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
        '<p class="muted">Go back to your assistant and ask it to connect the platform again; '
        "it will give you a fresh link.</p>"
    )
    return _page(title, body)
