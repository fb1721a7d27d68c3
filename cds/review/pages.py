"""The page templates, and the headers every review page carries."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

_environment = Environment(loader=PackageLoader("cds.review", "templates"),
                           autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)

# Pages show patient data: never cached, their URLs (assessment ids) never sent to another
# site as a referrer (same-origin, not no-referrer: with no-referrer browsers send
# "Origin: null" on our own forms), and nothing loaded from anywhere but this server.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'",
}


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _environment.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)
