"""Amazon's Associates rules for what a site may show and analyse: one home for every stage.

Whenever the catalog configures an Amazon affiliate program (``kind = "amazon"``), the data of
its Amazon stores (``platform = "amazon"``, or a store paid through that program) is shown,
never analysed:

- a price or availability is shown only when it came from the Creators API (``source ==
  "api"``) and is younger than 24 hours (or the site's own ``max_price_age_hours``, when
  shorter), with its date/time stamp and Amazon's disclaimer (``PRICE_DISCLAIMER``) beside it;
  otherwise the offer is a plain "Check the price on Amazon" link (``LINK_ONLY_LABEL``);
- no Amazon price feeds a value score, a badge, a price summary or a chart, and no Amazon
  price older than 24 hours is read for history;
- no Amazon star rating or review feeds a rating, a trust grade or a pros/cons quote;
- Amazon images are never stored or shown from the store (the site shows no images).

Scoring (``pipelines``), the static site and the WordPress patterns (``reports``) all ask this
module, so the rule is stated once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

# Amazon's Operating Agreement: a price or availability shown is at most 24 hours old,
# whatever the site's own max_price_age_hours says.
MAX_AGE_HOURS = 24.0
# The only source whose Amazon prices may be shown (offers.source: crawl | api | link_only).
SHOWABLE_SOURCE = "api"
PRICE_DISCLAIMER = (
    "Product prices and availability are accurate as of the date/time indicated and are "
    "subject to change. Any price and availability information displayed on Amazon at the "
    "time of purchase will apply to the purchase of this product."
)
LINK_ONLY_LABEL = "Check the price on Amazon"
RATINGS_NOTE = (
    "The trust grade, adjusted rating and pros and cons come from the other stores' reviews "
    "only: Amazon's star ratings and reviews are not collected or used."
)
UNRANKED_NOTE = (
    "Known only from Amazon, whose data this site shows but does not analyse: it is not "
    "ranked on reviews or price."
)


def program_configured(catalog: Any) -> bool:
    """True when the catalog has an Amazon affiliate program, and so Amazon's rules apply."""
    return any(p.kind == "amazon" for p in catalog.affiliates.values())


def amazon_stores(catalog: Any) -> frozenset[str]:
    """The names of the stores whose data falls under Amazon's rules (empty without an Amazon
    program): Amazon stores, and any store paid through an Amazon program."""
    if not program_configured(catalog):
        return frozenset()
    programs = catalog.affiliates
    return frozenset(
        store.name
        for store in catalog.stores
        if store.platform == "amazon"
        or (store.affiliate in programs and programs[store.affiliate].kind == "amazon")
    )


def max_age(site_max_age_hours: float | None = None) -> timedelta:
    """How old an Amazon price may be when shown: 24 hours, or the site's figure when shorter."""
    hours = MAX_AGE_HOURS
    if site_max_age_hours is not None:
        hours = min(hours, float(site_max_age_hours))
    return timedelta(hours=hours)


def young_enough(
    fetched_at: datetime, now: datetime, site_max_age_hours: float | None = None
) -> bool:
    """True for an Amazon price read at ``fetched_at`` that is, at ``now``, not from the
    future and no older than ``max_age``."""
    return timedelta(0) <= now - fetched_at <= max_age(site_max_age_hours)


def may_show(
    source: str | None,
    fetched_at: datetime | None,
    now: datetime,
    site_max_age_hours: float | None = None,
) -> bool:
    """True when an Amazon price or availability may be shown: from the API, dated, not from
    the future, and younger than ``max_age``."""
    if source != SHOWABLE_SOURCE or fetched_at is None:
        return False
    return young_enough(fetched_at, now, site_max_age_hours)


__all__ = [
    "LINK_ONLY_LABEL",
    "MAX_AGE_HOURS",
    "PRICE_DISCLAIMER",
    "RATINGS_NOTE",
    "SHOWABLE_SOURCE",
    "UNRANKED_NOTE",
    "amazon_stores",
    "max_age",
    "may_show",
    "young_enough",
    "program_configured",
]
