"""The catalog for the service: GET /criteria, /criteria/{therapy}, /criteria/terminology,
/criteria/valuesets/{id}. Cards link a criterion as /criteria/{therapy}#{criterion-id}.

    app.include_router(cds.catalog.routes.router())
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from ..knowledge import Knowledge
from .render import SERVICE_BASE, html_pages


def router(base: str = SERVICE_BASE, knowledge: Knowledge | None = None) -> APIRouter:
    """Pages are rendered once, on the first request, from the rulesets the engine runs
    (knowledge; by default the process's)."""

    @lru_cache(maxsize=1)
    def pages() -> dict[str, str]:
        return html_pages(base, knowledge)

    routes = APIRouter()

    @routes.get(base, response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(pages()[base])

    @routes.get(base + "/{page:path}", response_class=HTMLResponse, include_in_schema=False)
    def page(page: str) -> HTMLResponse:
        html = pages().get(f"{base}/{page.removesuffix('.html')}")
        if html is None:
            raise HTTPException(status_code=404, detail=f"no criteria page {page!r}")
        return HTMLResponse(html)

    return routes
