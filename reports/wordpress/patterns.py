"""The synced patterns backrank keeps in a WordPress site: a box per product, a top-N table per
category, a table per "A vs B" comparison, and the note that replaces one that left the catalog.

Built from the same views as the static site (``reports.context``), so the same rules hold:
the disclosure above the first affiliate link, ``rel="sponsored nofollow"``, "(paid link)" beside
Amazon links, a price stamp, and never an Amazon price older than 24 hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup, escape

from backrank.core import amazon_rules
from reports.context import CategoryView, Comparison, OfferView, ProductView, SiteInfo
from reports.filters import count, datetime_filter, money, rating, score
from reports.wordpress import blocks

SLUG_PREFIX = "backrank-"  # every object backrank makes in WordPress, and nothing else
TITLE_SUFFIX = " (backrank)"
AFFILIATE_REL = "sponsored nofollow"
PLAIN_REL = "nofollow"
PAID_LINK = "(paid link)"
BOX_OFFERS = 3
RETIRED_CLASS = "backrank-retired"


@dataclass(frozen=True)
class Pattern:
    """One synced pattern as backrank wants it: its slug (the marker), title and block markup."""

    slug: str
    title: str  # plain text; escaped when sent
    content: str
    kind: str  # product | top | vs | retired

    @property
    def sent_title(self) -> str:
        """The title as sent and as WordPress stores it (``title.raw``)."""
        return str(escape(self.title))


def shown_price(offer: OfferView, now: datetime) -> Decimal | None:
    """The offer's price when it may be shown: current, and for Amazon by Amazon's rules
    (``amazon_rules``: the view keeps only API prices; none older than 24 hours at ``now``)."""
    if offer.price is None or not offer.price_current or offer.fetched_at is None:
        return None
    amazon = offer.amazon_data or offer.amazon
    if amazon and not amazon_rules.young_enough(offer.fetched_at, now):
        return None
    return offer.price


def _rel(offer: OfferView) -> str:
    return AFFILIATE_REL if offer.affiliate or offer.rel.startswith("sponsored") else PLAIN_REL


def _price_text(offer: OfferView, now: datetime) -> str:
    """The price as shown, "—" when none may be; an Amazon price carries its date/time stamp."""
    price = shown_price(offer, now)
    if price is None:
        return "—"
    if offer.amazon_data and offer.fetched_at:
        return f"{money(price, offer.currency)} (as of {datetime_filter(offer.fetched_at)})"
    return money(price, offer.currency)


def _label(offer: OfferView, now: datetime) -> str:
    price = shown_price(offer, now)
    if price and offer.amazon_data and offer.fetched_at:  # Amazon's price beside its stamp
        label = f"{money(price, offer.currency)} at {offer.store}, as of {datetime_filter(offer.fetched_at)}"
    elif price:
        label = f"{money(price, offer.currency)} at {offer.store}"
    elif offer.amazon_data:
        label = amazon_rules.LINK_ONLY_LABEL
    else:
        label = f"See price at {offer.store}"
    if offer.availability == "out_of_stock":
        label += " (out of stock)"
    return f"{label} {PAID_LINK}" if offer.amazon else label


def _inline_link(offer: OfferView, now: datetime, text: str | None = None) -> Markup:
    """A link to the offer with "(paid link)" beside it when it goes to Amazon."""
    assert offer.href is not None
    anchor = blocks.link(text or offer.store, offer.href, _rel(offer))
    return Markup("{} {}").format(anchor, PAID_LINK) if offer.amazon else anchor


def _disclosure(site: SiteInfo, amazon: bool) -> Markup:
    text = f"{site.disclosure} {site.amazon_disclosure}" if amazon else site.disclosure
    return blocks.paragraph(text, "backrank-disclosure")


def _stamp(offers: Iterable[OfferView], now: datetime) -> Markup | None:
    """ "Prices as of <the oldest price shown>", or None when no price is shown; with an
    Amazon price, Amazon's own disclaimer follows."""
    shown = [o for o in offers if o.fetched_at and shown_price(o, now) is not None]
    if not shown:
        return None
    moments = [o.fetched_at for o in shown if o.fetched_at]
    text = f"Prices as of {datetime_filter(min(moments))}; prices and availability may change."
    if any(o.amazon_data for o in shown):
        text += f" {amazon_rules.PRICE_DISCLAIMER}"
    return blocks.paragraph(text, "backrank-stamp")


def _facts(product: ProductView) -> str:
    parts = []
    if product.composite_score is not None:
        parts.append(f"Score {score(product.composite_score)}")
    if product.trust_grade:
        parts.append(f"review trust grade {product.trust_grade}")
    parts.append(f"{rating(product.adjusted_rating)} from {count(product.review_count)}")
    text = f"{_rank(product)}. " + ", ".join(parts) + "."
    if product.has_amazon_data:  # Amazon's stars and reviews count for nothing here
        text += " Ratings and trust grade from the other stores' reviews only."
    return text


def _lead(product: ProductView) -> OfferView | None:
    offers = product.buy_offers
    return offers[0] if offers else None


def _wrap(site: SiteInfo, css: str, body: Sequence[Markup], offers: Sequence[OfferView],
          now: datetime) -> str:  # fmt: skip
    """The pattern's group: the disclosure first (above any link), the body, the price stamp."""
    linked = [o for o in offers if o.href]
    children = [_disclosure(site, any(o.amazon for o in linked))] if linked else []
    children.extend(body)
    stamp = _stamp(linked, now)
    if stamp is not None:
        children.append(stamp)
    return str(blocks.group(children, f"backrank-pattern {css}"))


def product_slug(product: ProductView) -> str:
    return f"{SLUG_PREFIX}product-{product.slug}"


def top_slug(category: CategoryView) -> str:
    return f"{SLUG_PREFIX}top-{category.slug}"


def comparison_slug(comparison: Comparison) -> str:
    return f"{SLUG_PREFIX}vs-{comparison.a.slug}-vs-{comparison.b.slug}"


def product_box(site: SiteInfo, product: ProductView, now: datetime) -> Pattern:
    offers = product.buy_offers[:BOX_OFFERS]
    body = [blocks.heading(product.name), blocks.paragraph(_facts(product))]
    if offers:
        body.append(
            blocks.buttons(
                [blocks.Button(_label(o, now), o.href or "", _rel(o)) for o in offers if o.href]
            )
        )
    else:
        body.append(blocks.paragraph("No store lists it right now."))
    return Pattern(
        slug=product_slug(product),
        title=f"Product box: {product.name}{TITLE_SUFFIX}",
        content=_wrap(site, "backrank-product", body, offers, now),
        kind="product",
    )


def top_table(site: SiteInfo, category: CategoryView, top: int, now: datetime) -> Pattern:
    products = category.products[:top]
    leads = [_lead(p) for p in products]
    rows = []
    for product, lead in zip(products, leads, strict=True):
        rows.append(
            (
                f"Not ranked: {product.name}"
                if product.amazon_only
                else f"{product.rank}. {product.name}",
                f"{score(product.composite_score)} ({rating(product.adjusted_rating)})",
                _price_text(lead, now) if lead else "—",
                _inline_link(lead, now) if lead else "—",
            )
        )
    head = ("Product", "Score (rating)", "Price", "Where to buy")
    body = [
        blocks.heading(f"Top {len(products)} {category.name.lower()}"),
        blocks.table(head, rows, "backrank-ranking"),
    ]
    return Pattern(
        slug=top_slug(category),
        title=f"Top {top} table: {category.name}{TITLE_SUFFIX}",
        content=_wrap(site, "backrank-top", body, [o for o in leads if o], now),
        kind="top",
    )


def _rank(product: ProductView) -> str:
    """ "#2 in Inversion tables", or "Not ranked" for a product known only from Amazon."""
    return "Not ranked" if product.amazon_only else f"#{product.rank} in {product.category_name}"


def comparison_table(site: SiteInfo, comparison: Comparison, now: datetime) -> Pattern:
    a, b = comparison.a, comparison.b
    lead_a, lead_b = _lead(a), _lead(b)

    def price(lead: OfferView | None) -> str:
        return _price_text(lead, now) if lead else "—"

    def buy(lead: OfferView | None) -> Markup | str:
        return _inline_link(lead, now) if lead else "—"

    rows = [
        ("Rank", *(_rank(p) for p in (a, b))),
        ("Score", score(a.composite_score), score(b.composite_score)),
        ("Review trust grade", a.trust_grade or "—", b.trust_grade or "—"),
        ("Adjusted rating", rating(a.adjusted_rating), rating(b.adjusted_rating)),
        ("Reviews", count(a.review_count), count(b.review_count)),
        ("Price", price(lead_a), price(lead_b)),
        ("Where to buy", buy(lead_a), buy(lead_b)),
    ]
    body = [
        blocks.heading(comparison.title),
        blocks.table(("", a.name, b.name), rows, "backrank-comparison"),
    ]
    return Pattern(
        slug=comparison_slug(comparison),
        title=f"Comparison: {comparison.title}{TITLE_SUFFIX}",
        content=_wrap(site, "backrank-vs", body, [o for o in (lead_a, lead_b) if o], now),
        kind="vs",
    )


def retired_note(slug: str, title: str) -> Pattern:
    """What replaces a pattern (or page) whose product, category or pair left the catalog: a
    short note, no link, so a post that uses it keeps working. ``title`` is the stored
    (escaped) title, ``Kind: name`` with the suffix on patterns."""
    suffix = TITLE_SUFFIX if title.endswith(TITLE_SUFFIX) else ""
    name = Markup(title).unescape().removesuffix(TITLE_SUFFIX)
    name = name.split(": ", 1)[1] if ": " in name else name
    note = f"{name} is no longer recommended: it has left our comparison."
    return Pattern(
        slug=slug,
        title=f"No longer recommended: {name}{suffix}",
        content=str(blocks.group([blocks.paragraph(note)], f"backrank-pattern {RETIRED_CLASS}")),
        kind="retired",
    )


def is_retired(content: str) -> bool:
    return f"backrank-pattern {RETIRED_CLASS}" in content


def patterns_for(
    site: SiteInfo, categories: Sequence[CategoryView], top: int, now: datetime
) -> list[Pattern]:
    """Every pattern the catalog's current ranking makes, in a stable order."""
    patterns: list[Pattern] = []
    for category in categories:
        patterns.append(top_table(site, category, top, now))
        patterns.extend(comparison_table(site, c, now) for c in category.comparisons)
        patterns.extend(product_box(site, p, now) for p in category.products)
    return patterns
