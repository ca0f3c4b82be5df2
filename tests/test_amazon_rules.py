"""Amazon's Associates rules as the stages apply them: what may be shown, what scoring reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from helpers import load_catalog_text
from test_site_build import CATALOG_TOML, FRESH, NOW, demo_offers, no_reviews

from backrank.core import amazon_rules
from backrank.core.config import Catalog
from pipelines.run import score
from reports.context import offer_view
from reports.inputs import product_input_keys

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog_text(tmp_path, CATALOG_TOML)


@pytest.mark.parametrize(
    ("source", "age_hours", "site_hours", "shown"),
    [
        ("api", 0, None, True),
        ("api", 23.9, None, True),
        ("api", 24, None, True),
        ("api", 24.1, None, False),  # past Amazon's 24 hours
        ("api", 49, 72, False),  # a site allowing older prices does not stretch Amazon's
        ("api", 13, 12, False),  # a stricter site wins
        ("api", -1, None, False),  # a stamp from the future is no stamp
        ("crawl", 1, None, False),  # scraped: never shown
        ("link_only", 1, None, False),
        (None, 1, None, False),
    ],
)
def test_an_amazon_price_is_shown_only_from_the_api_and_under_24_hours(
    source: str | None, age_hours: float, site_hours: float | None, shown: bool
) -> None:
    fetched = AT - timedelta(hours=age_hours)
    assert amazon_rules.may_show(source, fetched, AT, site_hours) is shown


def test_undated_amazon_price_is_never_shown() -> None:
    assert not amazon_rules.may_show("api", None, AT)


def test_rules_apply_to_amazon_stores_only_when_an_amazon_program_is_configured(
    tmp_path: Path, catalog: Catalog
) -> None:
    assert amazon_rules.program_configured(catalog)
    assert amazon_rules.amazon_stores(catalog) == {"amazon"}
    without = CATALOG_TOML.replace('kind = "amazon"\n', 'kind = "generic"\n').replace(
        'affiliate = "amazon"', 'affiliate = "shop_ref"'
    )
    (tmp_path / "plain").mkdir()
    plain = load_catalog_text(tmp_path / "plain", without)
    assert not amazon_rules.program_configured(plain)
    assert amazon_rules.amazon_stores(plain) == frozenset()


def amazon_row(**fields: object) -> dict[str, object]:
    row = demo_offers().iloc[0].to_dict()
    row.update(fields)
    return row


def test_offer_view_keeps_a_fresh_api_price_with_its_stamp(catalog: Catalog) -> None:
    view = offer_view(catalog, amazon_row(source="api"), NOW)
    assert view.amazon_data and view.amazon_price and not view.link_only
    assert view.price == Decimal("329.99") and view.availability == "in_stock"
    assert view.fetched_at == datetime.fromisoformat(FRESH.replace("Z", "+00:00"))
    assert view.href == "https://www.amazon.com/dp/B000000001?tag=backrank-20" and view.amazon


@pytest.mark.parametrize(
    ("source", "later"),
    [("api", timedelta(hours=25)), ("crawl", timedelta(0)), ("link_only", timedelta(0))],
)
def test_offer_view_turns_a_stale_or_non_api_amazon_offer_into_a_link(
    catalog: Catalog, source: str, later: timedelta
) -> None:
    view = offer_view(catalog, amazon_row(source=source), NOW + later)
    assert view.link_only and not view.amazon_price
    assert (view.price, view.availability, view.fetched_at) == (None, "unknown", None)
    assert view.href == "https://www.amazon.com/dp/B000000001?tag=backrank-20"


def test_an_amazon_offer_without_a_price_shows_no_stock_either(catalog: Catalog) -> None:
    view = offer_view(
        catalog, amazon_row(source="api", price=None, availability="out_of_stock"), NOW
    )
    assert view.link_only and (view.availability, view.fetched_at) == ("unknown", None)


def test_other_stores_keep_the_site_price_rules(catalog: Catalog) -> None:
    row = demo_offers().iloc[1].to_dict()  # spine-shop, scraped
    view = offer_view(catalog, row, NOW + timedelta(hours=20))
    assert not view.amazon_data and view.price == Decimal("299.00") and view.price_current


def scored(offers: pd.DataFrame, reviews: pd.DataFrame, shown_only: set[str]) -> pd.DataFrame:
    return score(
        offers, reviews, categories=[], catalog_scoring={"prior_strength": 10},
        now=NOW, shown_only_stores=shown_only,
    ).products.set_index("product_id")  # fmt: skip


def reviews_of(*rows: tuple[int, str, float, str]) -> pd.DataFrame:
    frame = no_reviews()
    records = [
        {"listing_id": lid, "store": store, "url": f"https://{store}.example/{lid}",
         "review_id": f"{store}-{i}", "author": "a", "rating": rating, "title": None,
         "body": body, "date": "2024-06-01", "verified": True, "helpful_votes": 0}
        for i, (lid, store, rating, body) in enumerate(rows)
    ]  # fmt: skip
    return pd.concat([frame, pd.DataFrame(records)], ignore_index=True)


def test_amazon_prices_stars_and_reviews_feed_no_score() -> None:
    offers = demo_offers()
    # Amazon is cheapest and loudest: a low price, five stars from thousands, glowing reviews
    offers.loc[offers["store"] == "amazon", ["price", "rating", "review_count"]] = [
        Decimal("99.00"), 5.0, 9000,
    ]  # fmt: skip
    reviews = reviews_of(
        (1, "amazon", 5.0, "Amazon says it is perfect and very sturdy."),
        (1, "amazon", 5.0, "Amazon again: the sturdy frame is great."),
        (2, "spine-shop", 3.0, "Wobbly frame, slow assembly."),
    )
    with_amazon = scored(offers, reviews, {"amazon"})
    others = offers[offers["store"] != "amazon"].reset_index(drop=True)
    alone = scored(others, reviews[reviews["store"] != "amazon"], set())
    table = with_amazon.index[with_amazon["name"].str.contains("EP-960")][0]
    assert with_amazon.loc[table, "best_price"] == Decimal("289.00")  # not Amazon's 99.00
    assert with_amazon.loc[table, "best_store"] == "plain-store"
    for column in ("rating", "review_count", "adjusted_rating", "value_score", "composite_score",
                   "trust_grade"):  # fmt: skip
        assert str(with_amazon.loc[table, column]) == str(alone.loc[table, column]), column
    stores = {entry["store"] for entry in with_amazon.loc[table, "price_summary"]}
    assert stores == {"plain-store", "spine-shop"}  # no Amazon price summary
    assert {p["store"] for p in with_amazon.loc[table, "price_history"]} == stores  # no chart line
    assert list(with_amazon.loc[table, "badges"]) == list(alone.loc[table, "badges"])
    # without the rule (no Amazon program), the same frames let Amazon's data in
    unruled = scored(offers, reviews, set())
    assert unruled.loc[table, "best_price"] == Decimal("99.00")


def test_a_product_sold_only_on_amazon_is_listed_but_not_scored() -> None:
    offers = demo_offers()
    only = offers[offers["store"] == "amazon"].assign(
        gtin=None, asin="B0GADGET01", brand="Gizmo", title="Gizmo Amazon-only Neck Hammock",
        url="https://www.amazon.com/dp/B0GADGET01",
    )  # fmt: skip
    products = scored(pd.concat([offers, only.assign(listing_id=9)]), no_reviews(), {"amazon"})
    gadget = products[products["name"].str.contains("Amazon-only")].iloc[0]
    assert gadget["best_price"] is None and not gadget["in_stock"]
    assert pd.isna(gadget["rating"]) and pd.isna(gadget["composite_score"])
    assert gadget["badges"] == []


def test_page_keys_change_when_an_amazon_price_passes_24_hours(catalog: Catalog) -> None:
    """A site allowing 48-hour-old prices still rebuilds a page whose Amazon price expired."""
    offers = demo_offers().assign(source="api")
    result = score(offers, no_reviews(), categories=catalog.categories, now=NOW)

    def keys(now: datetime) -> dict[str, str]:
        return product_input_keys(result.products, result.product_listings, offers,
                                  no_reviews(), now, 48.0)  # fmt: skip

    before, after = keys(NOW), keys(NOW + timedelta(hours=22))
    table = [pid for pid in before if "4006381333931" in pid]
    assert table and before[table[0]] != after[table[0]]


def test_store_empties_amazon_prices_and_image_links_after_24_hours(store_target: str) -> None:
    """Run on SQLite and PostgreSQL: what Amazon gave over 24 hours ago leaves the store; what
    other stores gave, and Amazon's fresh data, stay."""
    from backrank.core.store import Store

    def listing(store: str, url: str, fetched: datetime) -> dict[str, object]:
        return {"store": store, "url": url, "title": "Neck hammock", "price": "49.00",
                "list_price": "59.00", "currency": "USD", "availability": "in_stock",
                "image_url": f"{url}/image.jpg", "fetched_at": fetched.isoformat(),
                "source": "api" if store == "amazon" else "crawl"}  # fmt: skip

    old, young = AT - timedelta(hours=30), AT - timedelta(hours=2)
    with Store.open(store_target) as store:
        first = store.start_run(None)
        store.save_listings(first, [
            listing("amazon", "https://www.amazon.com/dp/B0OLD00001", old),
            listing("amazon", "https://www.amazon.com/dp/B0NEW00001", old),
            listing("spine-shop", "https://spine-shop.example/p/1", old),
        ])  # fmt: skip
        second = store.start_run(None)
        store.save_listings(
            second, [listing("amazon", "https://www.amazon.com/dp/B0NEW00001", young)]
        )
        assert store.expire_shown_only_data({"amazon"}, AT - amazon_rules.max_age()) == 2
        assert store.expire_shown_only_data({"amazon"}, AT - amazon_rules.max_age()) == 0
        history = store.read_offer_history().set_index(["url", "run_id"])
    expired = history.loc[("https://www.amazon.com/dp/B0OLD00001", first)]
    assert expired[["price", "list_price", "availability", "image_url"]].isna().all()
    earlier = history.loc[("https://www.amazon.com/dp/B0NEW00001", first)]
    assert earlier[["price", "availability"]].isna().all()  # no Amazon history past 24 hours
    fresh = history.loc[("https://www.amazon.com/dp/B0NEW00001", second)]
    assert fresh["price"] == Decimal("49.00") and fresh["image_url"].endswith("image.jpg")
    other = history.loc[("https://spine-shop.example/p/1", first)]
    assert other["price"] == Decimal("49.00") and other["image_url"].endswith("image.jpg")


def box_for(catalog: Catalog, now: datetime, **amazon: object) -> str:
    """The WordPress product box of the Teeter table (Amazon and spine-shop offers) at ``now``."""
    from reports.context import ProductView, site_info
    from reports.wordpress.patterns import product_box

    offers = (
        offer_view(catalog, amazon_row(**amazon), now),
        offer_view(catalog, demo_offers().iloc[1].to_dict(), now),
    )
    product = ProductView(
        product_id="p", slug="p", path="products/p.html", name="Teeter EP-960", brand="Teeter",
        category="inversion-tables", category_name="Inversion tables", rank=1, rating=4.4,
        adjusted_rating=4.3, review_count=80, listings=2, best_price=Decimal("299.00"),
        currency="USD", best_store="spine-shop", best_price_current=True, in_stock=True,
        offers=offers,
    )  # fmt: skip
    return product_box(site_info(catalog, now), product, now).content


def test_wordpress_box_stamps_a_fresh_amazon_price_and_adds_amazons_disclaimer(
    catalog: Catalog,
) -> None:
    box = box_for(catalog, NOW, source="api")
    assert "$329.99 at amazon, as of 2024-07-02 09:00 UTC" in box
    assert amazon_rules.PRICE_DISCLAIMER in box and "(paid link)" in box
    assert "tag=backrank-20" in box
    assert "#1 in Inversion tables." in box
    assert "Ratings and trust grade from the other stores&#39; reviews only." in box


@pytest.mark.parametrize(
    ("source", "later"), [("api", timedelta(hours=25)), ("link_only", timedelta(0))]
)
def test_wordpress_box_links_a_stale_or_link_only_amazon_offer_without_a_price(
    catalog: Catalog, source: str, later: timedelta
) -> None:
    box = box_for(catalog, NOW + later, source=source)
    assert f"{amazon_rules.LINK_ONLY_LABEL} (paid link)" in box
    assert "$329.99" not in box and amazon_rules.PRICE_DISCLAIMER not in box
