"""The Amazon source: a catalog's ASINs read through Amazon's Creators API, or kept as links only.

Amazon pages are never fetched. ``CreatorsApiSource.fetch`` asks ``GetItems`` (through
``python-amazon-paapi``'s ``amazon_creatorsapi`` client) for the store's ASINs, ten a call
at the store's request rate, with the ``OffersV2``, title, brand, part number and image
resources, never the customer reviews. The client refreshes an expired token itself and backs
off on a 429 (honouring Retry-After); what it cannot get past ends the API path for the rest
of the run. Every ASIN still yields a listing: with the API's data when it came, else a
link-only one (no price, no image), with the reason in the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from spiders.pipelines import is_http_url, strip_control
from spiders.sources.amazon_credentials import Credentials, Lookup, find_credentials
from spiders.sources.api import ApiOutcome

if TYPE_CHECKING:
    from amazon_creatorsapi import AmazonCreatorsApi

    from backrank.core.config import Catalog, StoreConfig

SOURCE_NAME = "creators-api"
MAX_ITEMS_PER_CALL = 10  # GetItems' limit
# Offer sources an offer row records (offers.source): the site shows an Amazon price only
# from the API, and only while it is fresh.
FROM_API, FROM_CRAWL, LINK_ONLY = "api", "crawl", "link_only"
# Paths an Amazon store took in a run, as the refresh report names them.
PATH_API, PATH_LINK_ONLY = "creators-api", "link-only"
# How each refusal is counted (backrank/store/<store>/errors/<kind>) and worded.
REFUSALS = {
    "auth_failed": "the Creators API refused the credentials (HTTP 401)",
    "access_denied": "the account has no Creators API access (HTTP 403); Amazon opens it "
    "after 10 qualifying sales in 30 days",
    "throttled": "the Creators API kept answering 429 (too many requests) after backing off",
    "rejected": "the Creators API rejected the request (HTTP 400: check the tag and marketplace)",
    "unavailable": "the Creators API could not be reached or failed",
}
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "ISK", "HUF", "VND"})
AVAILABILITY = {
    "IN_STOCK": "in_stock",
    "IN_STOCK_SCARCE": "in_stock",
    "LEADTIME": "in_stock",
    "OUT_OF_STOCK": "out_of_stock",
    "UNAVAILABLE": "out_of_stock",
}


def _resources() -> list[Any]:
    """What the store asks for: offers, title, brand, part number, images. No reviews."""
    # Imported here: the client library (and pydantic) load only for a run with Amazon.
    from creatorsapi_python_sdk.models.get_items_resource import GetItemsResource as R

    return [
        R.ITEM_INFO_DOT_TITLE,
        R.ITEM_INFO_DOT_BY_LINE_INFO,
        R.ITEM_INFO_DOT_MANUFACTURE_INFO,
        R.IMAGES_DOT_PRIMARY_DOT_LARGE,
        R.OFFERS_V2_DOT_LISTINGS_DOT_PRICE,
        R.OFFERS_V2_DOT_LISTINGS_DOT_AVAILABILITY,
        R.OFFERS_V2_DOT_LISTINGS_DOT_CONDITION,
        R.OFFERS_V2_DOT_LISTINGS_DOT_IS_BUY_BOX_WINNER,
    ]


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


ClientFactory = Callable[..., "AmazonCreatorsApi"]


def default_client(store: StoreConfig, credentials: Credentials, tag: str) -> AmazonCreatorsApi:
    """The library's client for this store (Amazon's host unless the catalog names another)."""
    # Imported here: the client library (and pydantic) load only for a run with Amazon.
    from amazon_creatorsapi import AmazonCreatorsApi

    options: dict[str, Any] = {}
    if store.api_host:
        options["host"] = store.api_host
    if store.api_auth_endpoint:
        options["auth_endpoint"] = store.api_auth_endpoint
    return AmazonCreatorsApi(
        credential_id=credentials.credential_id,
        credential_secret=credentials.credential_secret,
        version=credentials.version,
        tag=tag,
        marketplace=store.marketplace,
        throttling=store.api_interval,
        **options,
    )


class CreatorsApiSource:
    """One Amazon store's ASINs through the Creators API (an API source: no pages, no Scrapy)."""

    name = SOURCE_NAME

    def __init__(
        self,
        store: StoreConfig,
        *,
        tag: str | None,
        lookup: Lookup,
        client_factory: ClientFactory = default_client,
    ) -> None:
        self.store = store
        self.tag = tag
        self.lookup = lookup
        self.client_factory = client_factory

    @classmethod
    def for_store(cls, store: StoreConfig, catalog: Catalog) -> CreatorsApiSource:
        """The source of an Amazon store: the tag of its affiliate program, the credentials
        of the environment or of its credentials_file."""
        program = catalog.affiliates.get(store.affiliate) if store.affiliate else None
        return cls(
            store,
            tag=program.params.get("tag") if program else None,
            lookup=find_credentials(store.credentials_file),
        )

    def fetch(self, known_urls: Mapping[str, str] | None = None) -> ApiOutcome:
        """A listing per ASIN of the store; ``known_urls`` (ASIN -> URL stored before) keeps a
        link-only listing on the detail page URL the API gave it earlier."""
        asins = dict(self.store.asins)
        known_urls = known_urls or {}
        credentials = self.lookup.credentials
        if credentials is None or not self.tag:
            reason = self.lookup.reason if credentials is None else _no_tag_reason(self.store)
            outcome = ApiOutcome(path=PATH_LINK_ONLY, reason=reason)
            self._link_only(outcome, asins, known_urls)
            return outcome
        outcome = ApiOutcome(path=PATH_API)
        pending = list(asins)
        try:
            client = self.client_factory(self.store, credentials, self.tag)
        except ValueError:  # InvalidArgumentError: an unknown version, a bad marketplace
            outcome.path = PATH_LINK_ONLY
            outcome.reason = (
                f"the credentials' version or the store's marketplace is not one the "
                f"Creators API client accepts (credentials from {credentials.origin})"
            )
            self._link_only(outcome, asins, known_urls)
            return outcome
        try:
            while pending:
                batch, pending = pending[:MAX_ITEMS_PER_CALL], pending[MAX_ITEMS_PER_CALL:]
                refusal = self._fetch_batch(client, batch, asins, outcome)
                if refusal is not None:
                    outcome.refusal = refusal
                    outcome.reason = f"{REFUSALS[refusal]}; Amazon offers stored as links only"
                    outcome.count(f"errors/api_{refusal}")
                    self._link_only(outcome, {a: asins[a] for a in batch + pending}, known_urls)
                    break
        finally:
            client.close()
        if outcome.refusal is not None and not outcome.counts.get("api/items"):
            outcome.path = PATH_LINK_ONLY
        return outcome

    def _fetch_batch(
        self,
        client: AmazonCreatorsApi,
        batch: list[str],
        titles: Mapping[str, str | None],
        outcome: ApiOutcome,
    ) -> str | None:
        """Ask for one batch; its listings go into ``outcome``. The refusal kind, else None."""
        from amazon_creatorsapi import errors  # loaded with the client, see default_client

        outcome.count("api/calls")
        try:
            items = client.get_items(batch, resources=_resources(), include_unavailable=True)
        except errors.ItemsNotFoundError:
            items = []
        except errors.AuthenticationError:
            return "auth_failed"
        except errors.AccessDeniedError:
            return "access_denied"
        except errors.TooManyRequestsError:
            return "throttled"
        except (errors.AssociateValidationError, errors.InvalidArgumentError):
            return "rejected"
        except (errors.AmazonCreatorsApiError, ValueError):
            # ValueError: pydantic's ValidationError on an answer of an unexpected shape
            return "unavailable"
        fetched_at = now_text()
        found = {item.asin: item for item in items if item.asin and _has_data(item)}
        for asin in batch:
            item = found.get(asin)
            if item is None:
                outcome.count("skipped/asin_not_found")
                continue
            outcome.listings.append(self._listing(item, fetched_at, titles.get(asin)))
            outcome.count("api/items")
        return None

    def _listing(self, item: Any, fetched_at: str, title: str | None) -> dict[str, Any]:
        info = item.item_info
        offer = _buy_box(item)
        price = _amount(offer.price.money) if offer and offer.price and offer.price.money else None
        basis = offer.price.saving_basis if offer and offer.price else None
        availability = offer.availability.type if offer and offer.availability else None
        image = item.images.primary.large if item.images and item.images.primary else None
        image_url = image.url if image and is_http_url(image.url) else None
        detail_url = item.detail_page_url if is_http_url(item.detail_page_url) else None
        return {
            "store": self.store.name,
            "url": detail_url or _product_url(self.store, item.asin),
            "platform": "amazon",
            "asin": item.asin,
            "title": _display(info.title if info else None) or title,
            "brand": _display(info.by_line_info.brand if info and info.by_line_info else None),
            "mpn": _display(
                info.manufacture_info.item_part_number if info and info.manufacture_info else None
            ),
            "price": price,
            "list_price": _amount(basis.money) if basis and basis.money else None,
            "currency": (
                offer.price.money.currency
                if offer and offer.price and offer.price.money
                else self.store.currency
            ),
            "availability": AVAILABILITY.get(availability or "", "unknown")
            if availability
            else None,
            "image_url": image_url,  # a link only: Amazon's images are never stored
            "rating": None,  # Amazon's stars are never collected
            "review_count": None,
            "fetched_at": fetched_at,
            "source": FROM_API,
        }

    def _link_only(
        self, outcome: ApiOutcome, asins: Mapping[str, str | None], known_urls: Mapping[str, str]
    ) -> None:
        fetched_at = now_text()
        for asin, title in asins.items():
            outcome.listings.append(
                {
                    "store": self.store.name,
                    "url": known_urls.get(asin) or _product_url(self.store, asin),
                    "platform": "amazon",
                    "asin": asin,
                    "title": title,
                    "currency": self.store.currency,
                    "fetched_at": fetched_at,
                    "source": LINK_ONLY,
                }
            )
            outcome.count("api/link_only")


def _no_tag_reason(store: StoreConfig) -> str:
    return (
        f"the store's affiliate program has no tag (the Associates tracking id the Creators "
        f"API needs); set one in [affiliates.{store.affiliate or 'amazon'}]"
    )


def _product_url(store: StoreConfig, asin: str) -> str:
    return f"https://{store.marketplace}/dp/{asin}"


def _has_data(item: Any) -> bool:
    """False for the ASIN-only placeholder the client adds for an item Amazon did not return."""
    return any(
        getattr(item, name) is not None
        for name in ("item_info", "offers_v2", "images", "detail_page_url")
    )


def _buy_box(item: Any) -> Any:
    """The buy-box offer (else the first) of an item's OffersV2 listings; None without."""
    listings: Iterable[Any] = (item.offers_v2.listings or []) if item.offers_v2 else []
    listings = list(listings)
    return next((o for o in listings if o.is_buy_box_winner), listings[0] if listings else None)


def _amount(money: Any) -> Decimal | None:
    if money is None or money.amount is None:
        return None
    try:
        amount = Decimal(str(money.amount))  # a JSON number: 51.0 for $51.00
    except InvalidOperation:
        return None
    if money.currency in ZERO_DECIMAL_CURRENCIES:
        return amount.quantize(Decimal(1))
    return amount.quantize(Decimal("0.01")) if amount.as_tuple().exponent > -2 else amount


def _display(attribute: Any) -> str | None:
    """An attribute's display value as text (control characters out, as for crawled text)."""
    value = getattr(attribute, "display_value", None)
    return strip_control(value) if isinstance(value, str) else None
