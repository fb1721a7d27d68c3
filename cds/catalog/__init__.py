"""The criteria catalog: every ruleset rendered for payers from the files the engine runs."""

from .model import Catalog, build
from .render import catalog, html_pages, markdown_pages, write_html, write_json

__all__ = ["Catalog", "build", "catalog", "html_pages", "markdown_pages", "write_html", "write_json"]
