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
from reports.wordpress.pages import pages_for
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
PAGES = "/wp/v2/pages"
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


@dataclass(frozen=True)
class Wanted:
    """What the current ranking wants on the site: the patterns, and the categories the
    optional pages are made from."""

    patterns: list[Pattern]
    categories: list[CategoryView]


def wanted_content(catalog: Any, store: StoreReader, now: datetime) -> Wanted:
    site, categories = current_categories(catalog, store, now)
    return Wanted(patterns_for(site, categories, catalog.wordpress.top, now), categories)


def wanted_patterns(catalog: Any, store: StoreReader, now: datetime) -> list[Pattern]:
    return wanted_content(catalog, store, now).patterns


# What the publishing user must be allowed: create patterns (and pages), and see and edit the
# ones another user made. An Author sees only its own patterns in the REST API, so it would
# make duplicates of the others' instead of updating them: the Editor role is required.
NEEDED = (
    ("publish_posts", "publish synced patterns"),
    ("edit_others_posts", "edit synced patterns other users made"),
)
NEEDED_FOR_PAGES = (("publish_pages", "publish pages"), ("edit_others_pages", "edit pages"))


def check_user(client: WordPressClient, pages: bool = False) -> dict[str, Any]:
    """The user, if its role may publish patterns (and pages); a clear error otherwise."""
    me = client.me()
    capabilities = me.get("capabilities") or {}
    for capability, what in NEEDED + (NEEDED_FOR_PAGES if pages else ()):
        if not capabilities.get(capability):
            roles = ", ".join(me.get("roles") or []) or "no role"
            raise Forbidden(
                f"WordPress user {me.get('slug') or me.get('name')!s} ({roles}) may not {what}: "
                "give it the Editor (or Administrator) role",
                status=403,
                code="backrank_missing_role",
            )
    return me


def own_objects(client: WordPressClient, route: str = BLOCKS) -> dict[str, dict[str, Any]]:
    """backrank's patterns (or pages) on the site, by slug (every status but trash)."""
    found: dict[str, dict[str, Any]] = {}
    for item in client.pages(route, context="edit", status="any", orderby="id", order="asc"):
        slug = str(item.get("slug") or "")
        if slug.startswith(SLUG_PREFIX) and slug not in found:
            found[slug] = item
    return found


def _raw(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return str(value.get("raw", "")) if isinstance(value, dict) else str(value or "")


Planned = tuple[str, Pattern, int | None]


def plan(
    wanted: Sequence[Pattern], existing: dict[str, dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> list[Planned]:  # fmt: skip
    """``(action, pattern, id)`` for every object: create, update, retire or unchanged.
    ``extra`` fields (a page's parent) must match too for an object to be unchanged."""
    extra = extra or {}
    steps: list[Planned] = []
    for pattern in wanted:
        item = existing.get(pattern.slug)
        if item is None:
            steps.append(("create", pattern, None))
            continue
        same = (
            _raw(item, "content") == pattern.content
            and _raw(item, "title") == pattern.sent_title
            and item.get("status") == "publish"
            and all(item.get(key) == value for key, value in extra.items())
        )
        steps.append(("unchanged" if same else "update", pattern, int(item["id"])))
    names = {p.slug for p in wanted}
    for slug, item in existing.items():
        if slug in names:
            continue
        action = "unchanged" if is_retired(_raw(item, "content")) else "retire"
        steps.append((action, retired_note(slug, _raw(item, "title")), int(item["id"])))
    return steps


DONE = {"create": "created", "update": "updated", "retire": "retired"}


def _apply(
    client: WordPressClient, route: str, steps: Sequence[Planned], result: PublishResult,
    extra: dict[str, Any], progress: Callable[[Step], None] | None,
) -> bool:  # fmt: skip
    """Carry out ``steps`` on ``route``; False when the publish had to stop."""
    for index, (action, pattern, object_id) in enumerate(steps):
        if result.dry_run or action == "unchanged":
            shown = action if result.dry_run else "unchanged"
            step = Step(pattern.slug, pattern.title, shown, object_id)
        else:
            body = {"title": pattern.sent_title, "content": pattern.content, "status": "publish"}
            body.update(extra)
            try:
                if object_id is None:
                    made = client.create(route, {**body, "slug": pattern.slug})
                    object_id = int(made["id"])
                    if made.get("slug") != pattern.slug:
                        # WordPress renamed it: an object with this slug exists that this
                        # user cannot see. Take the new one back rather than leave a duplicate.
                        client.delete(route, object_id)
                        raise WordPressError(
                            f"WordPress renamed {pattern.slug} to {made.get('slug')}: another "
                            "object has this slug and this user cannot see it (removed again)"
                        )
                else:
                    client.update(route, object_id, body)
                step = Step(pattern.slug, pattern.title, DONE[action], object_id)
            except (NotAuthorized, RestClosed, Unreachable) as error:
                result.stopped = str(error)
                result.steps.append(
                    Step(pattern.slug, pattern.title, "failed", object_id, str(error))
                )
                result.steps.extend(
                    Step(p.slug, p.title, "skipped", i) for _, p, i in steps[index + 1 :]
                )
                return False
            except WordPressError as error:
                step = Step(pattern.slug, pattern.title, "failed", object_id, str(error))
        result.steps.append(step)
        if progress is not None:
            progress(step)
    return True


def parent_page_id(client: WordPressClient, parent: str | None) -> int:
    """The id of the owner's page with slug ``parent`` (0, the top level, when None)."""
    if not parent:
        return 0
    found = client.get(PAGES, slug=parent, context="edit", status="any")
    if not found:
        raise WordPressError(
            f"{client.url} has no page with the slug {parent!r} to put backrank's pages under: "
            "create it, or fix [wordpress] parent_page"
        )
    return int(found[0]["id"])


def publish(
    client: WordPressClient,
    wanted: Sequence[Pattern] | Wanted,
    *,
    dry_run: bool = False,
    pages: bool = False,
    parent: str | None = None,
    progress: Callable[[Step], None] | None = None,
) -> PublishResult:
    """Bring the site's backrank patterns (and with ``pages``, pages under ``parent``) in line
    with ``wanted``; with ``dry_run`` only plan.

    A refused login, a closed REST API or an unreachable site stops the publish (the rest are
    ``skipped``); any other error fails that object only and the publish goes on.
    """
    if not isinstance(wanted, Wanted):
        wanted = Wanted(list(wanted), [])
    result = PublishResult(url=client.url, dry_run=dry_run)
    check_user(client, pages=pages)
    parent_id = parent_page_id(client, parent) if pages else 0
    steps = plan(wanted.patterns, own_objects(client, BLOCKS))
    if not _apply(client, BLOCKS, steps, result, {}, progress) or not pages:
        return result
    # pages are made of the patterns' references, so they follow the patterns' ids
    pattern_ids = {s.slug: s.pattern_id for s in result.steps if s.pattern_id}
    page_steps = plan(
        pages_for(wanted.categories, pattern_ids), own_objects(client, PAGES), {"parent": parent_id}
    )
    _apply(client, PAGES, page_steps, result, {"parent": parent_id}, progress)
    return result
