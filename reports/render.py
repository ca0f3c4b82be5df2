"""Render a SiteContext to strings with Jinja2 (autoescaped, strict, theme-overridable)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from pathlib import Path

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)

from backrank.core import amazon_rules
from reports.context import Page, SiteContext
from reports.filters import FILTERS
from reports.jsonld import SCRIPT_ESCAPES
from reports.keys import key_prefix, page_key

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
    # Amazon's wording, from its one home (the price disclaimer, the link-only label, notes).
    env.globals["amazon"] = {
        "disclaimer": amazon_rules.PRICE_DISCLAIMER,
        "link_only": amazon_rules.LINK_ONLY_LABEL,
        "ratings_note": amazon_rules.RATINGS_NOTE,
        "unranked_note": amazon_rules.UNRANKED_NOTE,
    }
    return env


def templates_fingerprint(env: Environment) -> str:
    """A hash of every template the environment can load (theme and bundled)."""
    digest = hashlib.sha256()
    for name in sorted(env.list_templates()):
        source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        digest.update(name.encode() + b"\0" + source.encode() + b"\0")
    return digest.hexdigest()


def page_keys(context: SiteContext, fingerprint: str) -> dict[str, str]:
    """A key per page that changes whenever anything its template can see changes."""
    prefix = key_prefix(context.site, fingerprint)
    return {page.path: page_key(prefix, page) for page in context.pages}


def render_page(env: Environment, context: SiteContext, page: Page) -> str:
    return env.get_template(page.template).render(site=context.site, page=page, **page.data)


def render_extras(context: SiteContext) -> dict[str, str]:
    """The files that are not templates: robots.txt, the ``_redirects`` file, the JSON feed."""
    base = context.site.base_url
    robots = f"User-agent: *\nDisallow: /go/\nDisallow: /embed/\n\nSitemap: {base}/sitemap.xml\n"
    prefix = Path(base.split("://", 1)[-1]).as_posix()
    path_prefix = "/" + prefix.split("/", 1)[1] if "/" in prefix else ""
    redirects = "".join(f"{path_prefix}/{r.path} {r.target} 302\n" for r in context.redirects)
    # Escaped like JSON-LD, so the feed stays inert even if a host serves it as HTML.
    feed = json.dumps(context.feed, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in SCRIPT_ESCAPES.items():
        feed = feed.replace(char, escaped)
    return {"robots.txt": robots, "_redirects": redirects, "api/products.json": feed + "\n"}


def render_site(
    context: SiteContext, skip: Collection[str] = (), env: Environment | None = None
) -> dict[str, str]:
    """Every page of the site as ``{relative path: text}``, except the paths in ``skip``."""
    env = env or make_environment(context.theme_dir)
    pages = {
        page.path: render_page(env, context, page)
        for page in context.pages
        if page.path not in skip
    }
    pages.update(render_extras(context))
    return pages


def unchanged_pages(keys: Mapping[str, str], previous: Mapping[str, str]) -> set[str]:
    """Paths whose key matches the previous build's: they need no rendering."""
    return {path for path, key in keys.items() if previous.get(path) == key}
