"""The frames the stages pass through the store: each one's columns, in order, and dtypes, declared once.

A dtype is a pandas dtype name as the store reads the column back, except ``DECIMAL``: an
object column of ``Decimal`` (money stays exact). Text and nested values (lists, dicts) are
``object`` columns with None for missing. A stage that needs only some columns picks them
(``OFFERS.pick(...)``), so a renamed column fails at import, not in a half-built page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

TEXT = "object"
NESTED = "object"  # lists and dicts (JSON in the store)
FLOAT = "float64"  # NaN for missing
INT = "Int64"  # nullable integer
COUNT = "int64"  # an integer never missing
BOOL = "boolean"  # nullable boolean
DECIMAL = "decimal"  # object column of Decimal


class UnknownColumnError(KeyError):
    """A column named that its frame does not declare."""


@dataclass(frozen=True, init=False)
class Frame:
    """One frame: its columns in order with their dtypes, and the ones a consumer must be given."""

    name: str
    dtypes: Mapping[str, str]
    required: tuple[str, ...]

    def __init__(
        self, name: str, dtypes: Mapping[str, str], required: Iterable[str] | None = None
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtypes", MappingProxyType(dict(dtypes)))
        object.__setattr__(
            self, "required", tuple(self.dtypes) if required is None else self.pick(*required)
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column, in the order the store gives them."""
        return tuple(self.dtypes)

    def pick(self, *names: str) -> tuple[str, ...]:
        """``names`` as given, each checked to be a column of this frame."""
        unknown = [name for name in names if name not in self.dtypes]
        if unknown:
            raise UnknownColumnError(f"the {self.name} frame has no column {', '.join(unknown)}")
        return names

    def pandas_dtype(self, column: str) -> str:
        """The pandas dtype of ``column`` (``object`` for a Decimal column)."""
        dtype = self.dtypes[column]
        return "object" if dtype == DECIMAL else dtype


# Each listing with an offer snapshot (Store.read_offers); ``gone``: delisted.
OFFERS = Frame(
    "offers",
    {
        "store": TEXT, "url": TEXT, "canonical_url": TEXT, "title": TEXT, "brand": TEXT,
        "price": DECIMAL, "currency": TEXT, "availability": TEXT, "rating": FLOAT,
        "review_count": INT, "gtin": TEXT, "mpn": TEXT, "sku": TEXT, "asin": TEXT,
        "fetched_at": TEXT, "listing_id": INT, "category": TEXT, "image_url": TEXT, "run_id": INT,
        "list_price": DECIMAL, "platform": TEXT, "gone": BOOL,
        "source": TEXT,  # crawl | api | link_only (how the offer was read)
    },
    # what scoring reads of an offer
    required=(
        "listing_id", "store", "url", "canonical_url", "title", "brand", "price", "currency",
        "availability", "rating", "review_count", "gtin", "mpn", "sku", "asin", "fetched_at",
        "category",
    ),
)  # fmt: skip

# Each listing's descriptive fields and the runs that saw it (Store.read_listings).
LISTINGS = Frame(
    "listings",
    {
        "listing_id": INT, "store": TEXT, "listing_key": TEXT, "url": TEXT, "canonical_url": TEXT,
        "title": TEXT, "brand": TEXT, "gtin": TEXT, "mpn": TEXT, "sku": TEXT, "asin": TEXT,
        "category": TEXT, "description": TEXT, "image_url": TEXT, "platform": TEXT,
        "first_seen_run": INT, "last_seen_run": INT,
    },
)  # fmt: skip

# Each review with its listing's URL and id (Store.read_reviews).
REVIEWS = Frame(
    "reviews",
    {
        "store": TEXT, "url": TEXT, "review_id": TEXT, "author": TEXT, "rating": FLOAT,
        "title": TEXT, "body": TEXT, "date": TEXT, "verified": BOOL, "helpful_votes": INT,
        "listing_id": INT, "language": TEXT, "content_hash": TEXT, "fetched_at": TEXT,
        "first_seen_run": INT, "last_seen_run": INT,
    },
    # what scoring reads of a review
    required=(
        "listing_id", "store", "url", "review_id", "author", "rating", "title", "body", "date",
        "verified", "helpful_votes",
    ),
)  # fmt: skip

# The scoring output contract (docs/DESIGN.md, "Scoring output"): one row per product.
PRODUCTS = Frame(
    "products",
    {
        "product_id": TEXT, "name": TEXT, "brand": TEXT, "category": TEXT, "listings": INT,
        "best_price": DECIMAL, "currency": TEXT, "best_store": TEXT, "in_stock": BOOL,
        "rating": FLOAT, "review_count": INT, "adjusted_rating": FLOAT, "rank": INT,
        "subcategory": TEXT, "trust_grade": TEXT, "trust_adjusted_rating": FLOAT,
        "report_card": NESTED, "wilson_lower": FLOAT, "value_score": FLOAT,
        "composite_score": FLOAT, "score_breakdown": NESTED, "badges": NESTED, "pros": NESTED,
        "cons": NESTED, "specs": NESTED, "rating_histogram": NESTED, "price_summary": NESTED,
    },
)  # fmt: skip

# Which listings each product groups.
PRODUCT_LISTINGS = Frame("product_listings", {"product_id": TEXT, "listing_id": INT})

# What each scoring run ranked (Store.read_product_snapshots), for the changes page.
SNAPSHOTS = Frame(
    "product_snapshots",
    {
        "run_id": INT, "product_id": TEXT, "name": TEXT, "subcategory": TEXT, "rank": INT,
        "composite_score": FLOAT, "best_price": DECIMAL, "currency": TEXT, "in_stock": BOOL,
    },
)  # fmt: skip

# What trust scoring said of each review; the run that last scored it comes from the store.
REVIEW_SCORES = Frame(
    "review_scores",
    {
        "store": TEXT, "review_id": TEXT, "product_id": TEXT, "suspicion": FLOAT, "flags": TEXT,
        "kept": BOOL, "run_id": INT,
    },
    required=("store", "review_id", "product_id", "suspicion", "flags", "kept"),
)  # fmt: skip

# Per-sentence sentiment of a review's text, keyed by the review's content hash.
SENTENCES = Frame(
    "review_sentences",
    {"review_key": TEXT, "sentence_index": COUNT, "sentence": TEXT, "compound": FLOAT},
)

# Each product's input fingerprint and the per-product results scored from it.
PRODUCT_INPUTS = Frame(
    "product_inputs",
    {"product_id": TEXT, "fingerprint": TEXT, "results": NESTED, "run_id": INT},
)

# Crawl runs (Store.runs): ``stats`` is the run's decoded crawl stats.
RUNS = Frame(
    "runs",
    {
        "run_id": INT, "started_at": TEXT, "finished_at": TEXT, "status": TEXT,
        "catalog_path": TEXT, "stats": NESTED,
    },
)  # fmt: skip

# Each judged store of each run (Store.read_run_stores): its yield and drift verdict.
RUN_STORES = Frame(
    "run_stores",
    {
        "run_id": INT, "store": TEXT, "status": TEXT, "product_pages": INT, "listings": INT,
        "with_price": INT, "price_share": FLOAT, "baseline_run": INT, "baseline_share": FLOAT,
    },
)  # fmt: skip
