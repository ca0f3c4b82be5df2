"""Publish the current comparisons into a WordPress site as synced patterns, minimally.

A plan compares what the ranking wants (``patterns.patterns_for``) with backrank's own patterns
on the site (found by their slug prefix): create what is missing, update what differs, leave
the rest, and replace a pattern whose product left the catalog with a note. Nothing without the
prefix is ever read for writing, changed or deleted. A rerun after a failure finds what the
failed run created by its slug, so it never makes a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from reports.build import StoreReader, live_offers
from reports.context import CategoryView, SiteInfo, category_views, site_info, summary_views
from reports.wordpress.patterns import SLUG_PREFIX, Pattern, is_retired, patterns_for, retired_note
from reports.wordpress.rest import (
    Forbidden,
    NotAuthorized,
    RestClosed,
    Unreachable,
    WordPressClient,
    WordPressError,
)

BLOCKS = "/wp/v2/blocks"
ACTIONS = ("created", "updated", "retired", "unchanged", "failed", "skipped")


@dataclass(frozen=True)
class Step:
    """One pattern's fate in a publish."""

    slug: str
    title: str
    action: str  # create | update | retire | unchanged (planned); then one of ACTIONS
    pattern_id: int | None = None
    error: str | None = None


@dataclass
class PublishResult:
    """What a publish did (or, dry, would do), per pattern; and why it stopped, if it did."""

    url: str
    dry_run: bool
    steps: list[Step] = field(default_factory=list)
    stopped: str | None = None  # the error that ended the publish early

    def count(self, action: str) -> int:
        return sum(1 for step in self.steps if step.action == action)

    @property
    def ok(self) -> bool:
        return self.stopped is None and not self.count("failed") and not self.count("skipped")

    def summary(self) -> dict[str, Any]:
        """JSON-ready, for the refresh report: counts, and each failure with its HTTP error."""
        return {
            "url": self.url,
            "dry_run": self.dry_run,
            **{action: self.count(action) for action in ACTIONS},
            "failures": [
                {"slug": s.slug, "error": s.error} for s in self.steps if s.action == "failed"
            ],
            "stopped": self.stopped,
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.summary(), "steps": [asdict(step) for step in self.steps]}


def current_categories(
    catalog: Any, store: StoreReader, now: datetime
) -> tuple[SiteInfo, list[CategoryView]]:
    """The site info and ranked categories (summary views) the store holds now."""
    products = store.read_products()
    views = summary_views(
        catalog, products, store.read_product_listings(), live_offers(store.read_offers()), now
    )
    return site_info(catalog, now), category_views(catalog, views)


def wanted_patterns(catalog: Any, store: StoreReader, now: datetime) -> list[Pattern]:
    site, categories = current_categories(catalog, store, now)
    return patterns_for(site, categories, catalog.wordpress.top, now)


def check_user(client: WordPressClient) -> dict[str, Any]:
    """The user, if it may publish patterns; a clear error otherwise."""
    me = client.me()
    capabilities = me.get("capabilities") or {}
    if not capabilities.get("publish_posts"):
        roles = ", ".join(me.get("roles") or []) or "no role"
        raise Forbidden(
            f"WordPress user {me.get('slug') or me.get('name')!s} ({roles}) may not publish "
            "synced patterns: give it the Editor role (Author works for patterns it made itself)",
            status=403,
            code="backrank_missing_role",
        )
    return me


def own_patterns(client: WordPressClient) -> dict[str, dict[str, Any]]:
    """backrank's patterns on the site, by slug (every status but trash)."""
    found: dict[str, dict[str, Any]] = {}
    for item in client.pages(BLOCKS, context="edit", status="any", orderby="id", order="asc"):
        slug = str(item.get("slug") or "")
        if slug.startswith(SLUG_PREFIX) and slug not in found:
            found[slug] = item
    return found


def _raw(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return str(value.get("raw", "")) if isinstance(value, dict) else str(value or "")


def plan(
    wanted: Sequence[Pattern], existing: dict[str, dict[str, Any]]
) -> list[tuple[str, Pattern, int | None]]:
    """``(action, pattern, id)`` for every pattern: create, update, retire or unchanged."""
    steps: list[tuple[str, Pattern, int | None]] = []
    for pattern in wanted:
        item = existing.get(pattern.slug)
        if item is None:
            steps.append(("create", pattern, None))
            continue
        same = (
            _raw(item, "content") == pattern.content
            and _raw(item, "title") == pattern.sent_title
            and item.get("status") == "publish"
        )
        steps.append(("unchanged" if same else "update", pattern, int(item["id"])))
    names = {p.slug for p in wanted}
    for slug, item in existing.items():
        if slug in names:
            continue
        if is_retired(_raw(item, "content")):
            steps.append(("unchanged", retired_note(slug, _raw(item, "title")), int(item["id"])))
        else:
            steps.append(("retire", retired_note(slug, _raw(item, "title")), int(item["id"])))
    return steps


DONE = {"create": "created", "update": "updated", "retire": "retired"}


def publish(
    client: WordPressClient,
    wanted: Sequence[Pattern],
    *,
    dry_run: bool = False,
    progress: Callable[[Step], None] | None = None,
) -> PublishResult:
    """Bring the site's backrank patterns in line with ``wanted``; with ``dry_run`` only plan.

    A refused login, a closed REST API or an unreachable site stops the publish (the rest are
    ``skipped``); any other error fails that pattern only and the publish goes on.
    """
    result = PublishResult(url=client.url, dry_run=dry_run)
    check_user(client)
    steps = plan(wanted, own_patterns(client))
    for index, (action, pattern, pattern_id) in enumerate(steps):
        if dry_run or action == "unchanged":
            step = Step(pattern.slug, pattern.title, action if dry_run else "unchanged", pattern_id)
        else:
            body = {"title": pattern.sent_title, "content": pattern.content, "status": "publish"}
            try:
                if pattern_id is None:
                    body["slug"] = pattern.slug
                    made = client.create(BLOCKS, body)
                    pattern_id = int(made["id"])
                else:
                    client.update(BLOCKS, pattern_id, body)
                step = Step(pattern.slug, pattern.title, DONE[action], pattern_id)
            except (NotAuthorized, RestClosed, Unreachable) as error:
                result.stopped = str(error)
                result.steps.append(
                    Step(pattern.slug, pattern.title, "failed", pattern_id, str(error))
                )
                result.steps.extend(
                    Step(p.slug, p.title, "skipped", i) for _, p, i in steps[index + 1 :]
                )
                return result
            except WordPressError as error:
                step = Step(pattern.slug, pattern.title, "failed", pattern_id, str(error))
        result.steps.append(step)
        if progress is not None:
            progress(step)
    return result
