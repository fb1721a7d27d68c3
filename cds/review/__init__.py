"""Review pages for clinicians: load a patient, see why each therapy is or is not supported,
accept or override; permalinks to stored assessments (the links on CDS Hooks cards).

    app.include_router(cds.review.router(trail=trail, feedback=store, settings=settings, base_url=...))
"""

from .routes import router

__all__ = ["router"]
