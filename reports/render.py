"""Render a SiteContext to HTML strings with Jinja2 (autoescaped, strict, theme-overridable)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)

from reports.context import SiteContext
from reports.filters import FILTERS

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def make_environment(theme_dir: str | Path | None = None) -> Environment:
    """The Jinja2 environment: a theme's templates first, then the bundled ones."""
    loaders = [FileSystemLoader(str(theme_dir))] if theme_dir else []
    loaders.append(FileSystemLoader(str(TEMPLATES_DIR)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def render_site(context: SiteContext) -> dict[str, str]:
    """Every page of the site as ``{relative path: html}``."""
    env = make_environment(context.theme_dir)
    return {
        page.path: env.get_template(page.template).render(
            site=context.site, page=page, **page.data
        )
        for page in context.pages
    }
