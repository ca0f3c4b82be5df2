"""The crawl's frames as the scorer and the reports read them: offers, listings and reviews."""

from __future__ import annotations

import pandas as pd

from backrank.core.frames import LISTINGS, OFFERS, REVIEWS
from backrank.core.store.engine import StoreEngine
from backrank.core.store.values import typed


class FrameReads(StoreEngine):
    """Offers (latest or every snapshot), listings and reviews as typed frames."""

    def _offers(self, where: str) -> pd.DataFrame:
        """Offer snapshots (OFFERS) outside drifted runs, ``where`` narrowing them further."""
        frame = self._frame(
            "SELECT l.store, l.url, l.canonical_url, l.title, l.brand, o.price, o.currency,"
            " o.availability, o.rating, o.review_count, l.gtin, l.mpn, l.sku, l.asin,"
            " o.fetched_at, l.listing_id, l.category, l.image_url, o.run_id, o.list_price,"
            " l.platform, l.gone_run IS NOT NULL AS gone, o.source FROM offers o JOIN listings l"
            " USING (listing_id) WHERE NOT EXISTS (SELECT 1 FROM run_stores d WHERE"
            " d.run_id = o.run_id AND d.store = l.store AND d.status = 'drifted') "
            + where
            + " ORDER BY l.listing_id, o.run_id"
        )
        frame = typed(frame, OFFERS.dtypes)
        return frame[list(OFFERS.columns)]

    def read_offers(self, latest: bool = True) -> pd.DataFrame:
        """Each listing with its newest good offer snapshot (``latest=False``: every snapshot).

        Snapshots of a run in which the listing's store drifted (``run_stores``) are never
        the latest: the last good one stands. ``gone`` is True for a delisted listing.
        """
        if not latest:
            return self.read_offer_history()
        return self._offers(
            "AND o.run_id = (SELECT max(g.run_id) FROM offers g WHERE g.listing_id = l.listing_id"
            " AND NOT EXISTS (SELECT 1 FROM run_stores d WHERE d.run_id = g.run_id"
            " AND d.store = l.store AND d.status = 'drifted'))"
        ).reset_index(drop=True)

    def read_offer_history(self) -> pd.DataFrame:
        """Every good offer snapshot of every listing (drifted runs left out), oldest run first."""
        return self._offers("").reset_index(drop=True)

    def read_listings(self) -> pd.DataFrame:
        """Every listing with its descriptive fields and first/last run seen."""
        frame = self._frame(
            f"SELECT {', '.join(LISTINGS.columns)} FROM listings ORDER BY listing_id"
        )
        return typed(frame, LISTINGS.dtypes)

    def read_reviews(self) -> pd.DataFrame:
        """Every review with its listing's URL and id (None while the listing is unknown)."""
        frame = self._frame(
            "SELECT r.store, coalesce(l.url, r.listing_url) AS url, r.review_id, r.author,"
            " r.rating, r.title, r.body, r.date, r.verified, r.helpful_votes, r.listing_id,"
            " r.language, r.content_hash, r.fetched_at, r.first_seen_run, r.last_seen_run"
            " FROM reviews r LEFT JOIN listings l USING (listing_id) ORDER BY r.review_pk"
        )
        return typed(frame, REVIEWS.dtypes)
