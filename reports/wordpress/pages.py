"""With ``[wordpress] pages = true``: the full category and product pages as WordPress pages
under a parent page the owner names, each made of the synced patterns (so they stay current
with them) and found again, like the patterns, by its ``backrank-`` slug."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reports.context import CategoryView, ProductView
from reports.wordpress import blocks
from reports.wordpress.patterns import (
    SLUG_PREFIX,
    Pattern,
    comparison_slug,
    product_slug,
    top_slug,
)


def category_page_slug(category: CategoryView) -> str:
    return f"{SLUG_PREFIX}ranking-{category.slug}"


def product_page_slug(product: ProductView) -> str:
    return f"{SLUG_PREFIX}{product.slug}"


def _references(slugs: Sequence[str], pattern_ids: Mapping[str, int]) -> list[str]:
    return [blocks.pattern_reference(pattern_ids[s]) for s in slugs if s in pattern_ids]


def category_page(category: CategoryView, pattern_ids: Mapping[str, int]) -> Pattern:
    intro = blocks.paragraph(
        f"Every {category.name.lower()} we compared, ranked by what verified buyers report."
    )
    slugs = [top_slug(category), *(comparison_slug(c) for c in category.comparisons)]
    slugs += [product_slug(p) for p in category.products]
    content = "\n\n".join([str(intro), *_references(slugs, pattern_ids)])
    return Pattern(
        slug=category_page_slug(category),
        title=f"Ranking: {category.name}",
        content=content,
        kind="page",
    )


def product_page(
    category: CategoryView, product: ProductView, pattern_ids: Mapping[str, int]
) -> Pattern:
    slugs = [product_slug(product)]
    slugs += [comparison_slug(c) for c in category.comparisons if product in (c.a, c.b)]
    return Pattern(
        slug=product_page_slug(product),
        title=f"Product: {product.name}",
        content="\n\n".join(_references(slugs, pattern_ids)),
        kind="page",
    )


def pages_for(categories: Sequence[CategoryView], pattern_ids: Mapping[str, int]) -> list[Pattern]:
    """The category and product pages; ``pattern_ids`` maps pattern slugs to their ids."""
    pages: list[Pattern] = []
    for category in categories:
        pages.append(category_page(category, pattern_ids))
        pages.extend(product_page(category, p, pattern_ids) for p in category.products)
    return pages
