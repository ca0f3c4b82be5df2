"""Delisted (gone) listings leave the site: no offer, link, redirect or feed entry of theirs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_site_build import NOW
from test_site_pages import TEETER, ScoredStore, offers_frame, rich_catalog, scored_products

from reports.build import build_site, live_offers

GONE_URL = "spine-shop.example/products/ep-960"  # Teeter's listing 2 at spine-shop
GO_PATH = f"go/{TEETER}-spine-shop/"


class DelistingStore(ScoredStore):
    """The scored store whose latest offers carry the ``gone`` flag (listing 2 when asked)."""

    def __init__(self, gone: bool) -> None:
        super().__init__(scored_products())
        self.gone = gone

    def read_offers(self, latest: bool = True) -> pd.DataFrame:
        offers = offers_frame()
        flags = (offers["listing_id"] == 2) & self.gone
        return offers.assign(gone=pd.array(flags.to_list(), dtype="boolean"))


def build(folder: Path, gone: bool) -> dict[str, str]:
    result = build_site(rich_catalog(folder), DelistingStore(gone), folder / "site", now=NOW)
    return {page: (result.out_dir / page).read_text(encoding="utf-8") for page in result.pages}


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, dict[str, str]]:
    return {gone: build(tmp_path_factory.mktemp(f"gone-{gone}"), gone) for gone in (False, True)}


def test_a_listed_offer_shows_everywhere_it_should(sites: dict[bool, dict[str, str]]) -> None:
    listed = sites[False]
    assert f"{GO_PATH}index.html" in listed
    assert any(GONE_URL in text for text in listed.values())
    assert f"/{GO_PATH} https://{GONE_URL}?ref=backrank 302" in listed["_redirects"].splitlines()


def test_a_gone_listing_leaves_every_page_feed_and_redirect(
    sites: dict[bool, dict[str, str]],
) -> None:
    delisted = sites[True]
    assert f"{GO_PATH}index.html" not in delisted
    assert [path for path, text in delisted.items() if GONE_URL in text or GO_PATH in text] == []
    feed = json.loads(delisted["api/products.json"])
    (teeter,) = [p for p in feed["products"] if p["id"] == TEETER]
    assert sorted(o["store"] for o in teeter["offers"]) == ["amazon", "plain-store"]
    # the product stays, with its other stores' offers
    page = next(text for path, text in delisted.items() if path == f"products/{TEETER}.html")
    assert "https://www.amazon.com/dp/B000000001?tag=backrank-20" in page


def test_live_offers_keeps_unknown_and_older_stores_offers() -> None:
    offers = pd.DataFrame(
        {"listing_id": [1, 2, 3], "gone": pd.array([True, None, False], dtype="boolean")}
    )
    assert live_offers(offers)["listing_id"].to_list() == [2, 3]
    without_flag = offers.drop(columns="gone")
    assert live_offers(without_flag)["listing_id"].to_list() == [1, 2, 3]
