"""The fictional back-care catalog behind the demo stores, generated deterministically from a seed."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, replace
from decimal import Decimal

from backrank.core.identifiers import gtin_check_digit

STORES = ("amazon", "shopify", "woocommerce", "walmart")

DEMO_MODELS = 56
# Review trust patterns the marketplace plants on some listings (truth()["planted"] names
# them), each with the trust test made to catch it (pipelines/trust: the demo's accuracy test
# and benchmarks/trust_demo.py count a pattern found only when that test fails it).
PATTERN_TEST = {
    "unverified_boost": "unverified",
    "one_review_reviewers": "one_review",
    "burst": "burst_day",
    "incentivised": "incentivised",
    "repeated_phrasing": "repeated_text",
    "single_brand_reviewers": "single_brand",
    "short_five_star": "short_five_star",
    "review_gating": "review_gating",
}
PATTERNS = tuple(PATTERN_TEST)
PLANTED_SHARE = 0.22  # of products, at scale; the demo plants each pattern on two products
REVIEWS_PER_REVIEWER = 4  # a store's regular reviewers write about this many reviews each
REVIEW_END_DATE_ORDINAL = 739432  # 2025-06-30: reviews are dated in the two years before it
REVIEW_SPAN_DAYS = 730

# Invented names; none is a real back-care brand (tests check this against real ones).
BRANDS = (
    "Spinara",
    "Vertelux",
    "Lumbrix",
    "Hangwell",
    "Axialo",
    "Dorsova",
    "Strettho",
    "Kalmspine",
    "Invertrek",
    "Tractavo",
    "Backhaven",
    "Nuvertis",
)

# At scale more brands are made from these halves (a brand makes a dozen or so models).
BRAND_HEADS = ("Spin", "Vert", "Lum", "Dors", "Axi", "Kalm", "Tract", "Flexi", "Orth", "Sacr")
BRAND_TAILS = ("ara", "elux", "rix", "ova", "alo", "wave", "ique", "ora", "enza", "umi", "avo")
BRAND_MIDDLES = ("er", "an", "ol", "im", "ex", "ur", "ad", "on")
MODELS_PER_BRAND = 12
# Line suffixes at scale, so a brand's model names stay distinct ("Flex 2", "Summit Pro").
LINE_SUFFIXES = ("", "Pro", "Plus", "2", "3", "X", "Max", "Lite", "Elite", "300", "500", "II")

LINES = (
    "Aero",
    "Core",
    "Flex",
    "Summit",
    "Pulse",
    "Terra",
    "Nova",
    "Atlas",
    "Zen",
    "Prime",
    "Orbit",
    "Vita",
    "Apex",
    "Glide",
    "Ridge",
    "Luma",
    "Halo",
    "Echo",
    "Strata",
    "Drift",
)

COLORS = ("Black", "Gray", "Blue", "Charcoal", "Red", "Navy", "White")

# Script payloads a hostile catalog (build_catalog(..., hostile=True)) plants in one listing per
# store, as a seller or reviewer could type them: each page must show them as inert text.
XSS_TITLE = "<script>window.__xss=1;alert(1)</script>"
XSS_BRAND = '"><svg onload="window.__xss=1;alert(1)">'
XSS_REVIEW_TITLE = '<img src=x onerror="window.__xss=1;alert(1)">'
XSS_REVIEW_BODY = (
    '<script>alert(document.domain)</script> <a href="javascript:alert(1)">javascript:alert(1)</a>'
)
XSS_IMAGE_URL = "javascript:window.__xss=1;alert(1)//.jpg"  # a seller-supplied image URL
HOSTILE_REVIEW_INDEX = 0  # the newest review: on the first review page of every store


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of back-care product: how it is named, priced and specified."""

    category: str
    nouns: tuple[str, ...]
    price_range: tuple[int, int]  # whole dollars
    weight_range: tuple[int, int]  # max user weight, lb
    features: tuple[str, ...]
    keyword: str  # what a shopper types into a store search box


KINDS = (
    Kind(
        "inversion-tables",
        ("Inversion Table",),
        (119, 449),
        (250, 350),
        (
            "Adjustable Headrest",
            "Ergonomic Ankle Lock",
            "Foldable Frame",
            "Memory Foam Backrest",
            "Safety Strap",
            "Lumbar Pillow",
        ),
        "inversion table",
    ),
    Kind(
        "lumbar-traction",
        ("Lumbar Traction Belt", "Lumbar Traction Device"),
        (29, 119),
        (220, 300),
        (
            "Air Inflatable",
            "Breathable Mesh",
            "Adjustable Waist 29-49 in",
            "Hand Pump Included",
            "Quick Release Buckle",
        ),
        "lumbar traction",
    ),
    Kind(
        "cervical-traction",
        (
            "Over-Door Cervical Traction Device",
            "Pneumatic Cervical Traction Collar",
            "Cervical Traction Collar",
        ),
        (24, 99),
        (200, 300),
        (
            "Neck Stretcher",
            "Soft Foam Collar",
            "Water Bag Weight",
            "Adjustable Height",
            "Posture Corrector",
        ),
        "cervical traction",
    ),
    Kind(
        "back-stretchers",
        ("Back Stretcher Arch", "Back Stretcher"),
        (19, 69),
        (250, 330),
        ("3 Level Arch", "Magnetic Acupressure", "Foam Padded", "Lumbar Support"),
        "back stretcher",
    ),
    Kind(
        "decompression-belts",
        ("Spinal Decompression Belt", "Decompression Back Belt"),
        (39, 149),
        (220, 320),
        ("Inflatable Air Columns", "Lumbar Support", "Adjustable Fit", "Breathable Fabric"),
        "decompression belt",
    ),
    Kind(
        "back-wheels",
        ("Back Roller Wheel", "Yoga Back Wheel"),
        (24, 79),
        (300, 550),
        ("Foam Padded", "Deep Tissue Massage", "12 Inch", "Non-Slip Surface"),
        "back wheel",
    ),
    Kind(
        "hanging-bars",
        ("Doorway Hanging Bar", "Doorway Pull Up Bar", "Hanging Bar"),
        (29, 109),
        (300, 440),
        ("No Screw Install", "Padded Grips", "Spinal Hang Straps", "Adjustable Width"),
        "hanging bar",
    ),
)
KIND_BY_CATEGORY = {kind.category: kind for kind in KINDS}

# Title shapes per store: Amazon stuffs keywords, Walmart is plain, Shopify and WooCommerce
# stores write their own names. {f1}/{f2} are features, {pack} a pack-size phrase.
TITLE_SHAPES = {
    "amazon": (
        "{brand} {noun} with {f1}, {f2}, Heavy Duty {weight} lb Capacity - {mpn}",
        "{brand} {line} {noun} for Back Pain Relief, {f1} & {f2} ({color})",
        "{noun} by {brand} - {f1}, {f2}, Up to {weight} lbs, {color}",
    ),
    "shopify": (
        "The {line} {noun}",
        "{line} {noun} | {brand}",
        "{brand} {line} {noun} - {color}",
        "{line} {NOUN}{pack}",
    ),
    "woocommerce": (
        "{brand} {line} {noun_lower} ({mpn})",
        "{noun} {line} – {f1}",
        "{line} {noun}{pack} by {brand}",
    ),
    "walmart": (
        "{brand} {line} {noun}, {color}",
        "{brand} {mpn} {noun}, {weight} lb Capacity",
        "{brand} {noun} with {f1}, {color}{pack}",
    ),
}
PACKS = ("", "", "", ", 2 Pack", " (Pack of 1)", " - Set of 2")


@dataclass(frozen=True, slots=True)
class Product:
    """One product model: what a brand makes, whoever sells it."""

    product_id: str
    brand: str
    line: str
    noun: str
    category: str
    mpn: str
    gtin: str  # GTIN-13 with a valid check digit (a zero-padded UPC-A)
    color: str
    features: tuple[str, str]
    weight_lb: int
    height_min_in: int
    height_max_in: int
    warranty_years: int
    quality: float  # mean star rating its buyers tend to give

    @property
    def name(self) -> str:
        return f"{self.brand} {self.line} {self.noun}"

    @property
    def upc(self) -> str:
        return self.gtin[1:]

    def description(self) -> str:
        feet = lambda inches: f"{inches // 12}'{inches % 12}\""
        return (
            f"The {self.name} ({self.mpn}) is built for everyday back care at home. "
            f"{self.features[0]} and {self.features[1].lower()}. "
            f"Max user weight: {self.weight_lb} lb. "
            f"Fits users from {feet(self.height_min_in)} to {feet(self.height_max_in)}. "
            f"Warranty: {self.warranty_years} years. Color: {self.color}."
        )


@dataclass(frozen=True, slots=True)
class StoreListing:
    """One product offered by one store, with everything its pages show."""

    store: str
    index: int  # position among this store's listings
    product: Product
    key: str  # ASIN, Shopify handle, WooCommerce slug or Walmart usItemId
    slug: str
    title: str
    price_cents: int | None  # None: the store shows no price
    list_price_cents: int | None  # the "was" price when on sale
    in_stock: bool
    show_gtin: bool
    show_mpn: bool
    number_id: int  # Shopify product id / Woo post id / Walmart usItemId
    variant_id: int  # Shopify variant id; 0 elsewhere
    use_microdata: bool  # WooCommerce: microdata instead of JSON-LD
    review_count: int
    star_counts: tuple[int, int, int, int, int]  # how many 1..5 star reviews
    review_stride: int  # review i gets the star of slot (i * stride + offset) % count
    review_offset: int
    first_comment_id: int  # WooCommerce comment ids are global, per site
    # Regular reviewers: review i is by reviewer (offset + i * stride) % pool of the store's pool.
    reviewer_pool: int = 1
    reviewer_offset: int = 0
    reviewer_stride: int = 1
    # A planted trust pattern: reviews planted_start .. planted_start + planted - 1 carry it.
    pattern: str | None = None
    planted: int = 0
    planted_start: int = 0
    planted_stars: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    # Hostile catalogs: the title, the brand and review HOSTILE_REVIEW_INDEX carry XSS payloads.
    hostile: bool = False

    @property
    def price(self) -> Decimal | None:
        return cents_to_decimal(self.price_cents)

    @property
    def list_price(self) -> Decimal | None:
        return cents_to_decimal(self.list_price_cents)

    @property
    def rating(self) -> float | None:
        """Mean star rating of its reviews, one decimal as stores show it; None without reviews."""
        if not self.review_count:
            return None
        total = sum(stars * count for stars, count in enumerate(self.star_counts, start=1))
        return round(total / self.review_count + 1e-9, 1)

    def is_planted(self, review_index: int) -> bool:
        return self.planted_start <= review_index < self.planted_start + self.planted

    def stars_of(self, review_index: int) -> int:
        """Star rating of the review at this position (0 = newest)."""
        if self.is_planted(review_index):
            slot = review_index - self.planted_start
            histogram = self.planted_stars[::-1]  # the planted block opens with its 5 stars
            for stars, count in zip(range(5, 0, -1), histogram):
                if slot < count:
                    return stars
                slot -= count
            raise IndexError(review_index)
        natural = self.review_count - self.planted
        if review_index >= self.planted_start + self.planted:
            review_index -= self.planted
        slot = (review_index * self.review_stride + self.review_offset) % natural
        for stars, total, planted in zip(range(1, 6), self.star_counts, self.planted_stars):
            if slot < total - planted:
                return stars
            slot -= total - planted
        raise IndexError(review_index)


@dataclass(frozen=True, slots=True)
class Catalog:
    """All products and every store's listings of them, indexed for O(1) page lookups."""

    seed: int
    scale: int | None
    products: tuple[Product, ...]
    listings: dict[str, tuple[StoreListing, ...]]  # store -> listings in sitemap order
    by_key: dict[str, dict[str, StoreListing]]  # store -> key -> listing

    @property
    def review_total(self) -> int:
        return sum(listing.review_count for rows in self.listings.values() for listing in rows)

    @property
    def planted(self) -> list[StoreListing]:
        """Listings carrying a planted review pattern, store by store in sitemap order."""
        return [row for store in STORES for row in self.listings[store] if row.pattern]

    @property
    def hostile(self) -> list[StoreListing]:
        """Listings carrying XSS payloads (hostile catalogs only), store by store."""
        return [row for store in STORES for row in self.listings[store] if row.hostile]

    def by_category(self, store: str, category: str) -> list[StoreListing]:
        return [row for row in self.listings[store] if row.product.category == category]


def cents_to_decimal(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


def money(cents: int) -> str:
    """'$1,234.99' as US stores print it."""
    return f"${cents // 100:,}.{cents % 100:02d}"


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def build_catalog(seed: int, scale: int | None, hostile: bool = False) -> Catalog:
    """Generate products and listings; the same (seed, scale) always gives the same catalog.

    ``hostile`` also plants XSS payloads in one listing per store (see ``_plant_payloads``).
    """
    count = DEMO_MODELS if scale is None else scale
    if count < 1:
        raise ValueError(f"scale must be at least 1, got {count}")
    rng = random.Random(f"backrank-marketplace:{seed}:{scale}")
    products = _products(rng, count)
    rows = _with_an_unpriced_listing(_listings(rng, products, demo=scale is None))
    rows = _plant_patterns(random.Random(f"backrank-plants:{seed}:{scale}"), rows, products)
    rows = _reviewer_pools(random.Random(f"backrank-reviewers:{seed}:{scale}"), rows)
    if hostile:
        rows = _plant_payloads(rows)
    listings = {store: tuple(rows[store]) for store in STORES}
    by_key = {store: {row.key: row for row in listings[store]} for store in STORES}
    return Catalog(seed, scale, tuple(products), listings, by_key)


def brand_names(count: int) -> tuple[str, ...]:
    """The demo's brands, then made-up one-word ones: about one brand per dozen models."""
    wanted = max(len(BRANDS), -(-count // MODELS_PER_BRAND))
    names = list(BRANDS)
    made = [head + tail for head in BRAND_HEADS for tail in BRAND_TAILS]
    made += [head + middle + tail for middle in BRAND_MIDDLES for head, tail in _halves()]
    for name in made:
        if len(names) >= wanted:
            break
        if name not in names:
            names.append(name)
    return tuple(names)


def _halves() -> list[tuple[str, str]]:
    return [(head, tail) for head in BRAND_HEADS for tail in BRAND_TAILS]


def _products(rng: random.Random, count: int) -> list[Product]:
    products: list[Product] = []
    used_mpns: set[str] = set()
    used_gtins: set[str] = set()
    used_names: set[tuple[str, str, str]] = set()
    brands = brand_names(count)
    suffixes = LINE_SUFFIXES if count > DEMO_MODELS else ("",)
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        # A brand never gives two of its models one name: the name is how shoppers tell them apart.
        while True:
            brand = rng.choice(brands)
            suffix = rng.choice(suffixes)
            line = f"{rng.choice(LINES)} {suffix}".strip()
            noun = rng.choice(kind.nouns)
            if (brand, line, noun) not in used_names:
                used_names.add((brand, line, noun))
                break
        prefix = brand[:2].upper()
        mpn = _unique(
            used_mpns,
            lambda prefix=prefix: (
                f"{prefix}-{rng.randrange(100, 10000)}" + rng.choice(("", "", "B", "X", "S"))
            ),
        )
        gtin = _unique(used_gtins, lambda: _gtin(rng))
        height_min = rng.randrange(56, 62)
        products.append(
            Product(
                product_id=f"P{i + 1:05d}",
                brand=brand,
                line=line,
                noun=noun,
                category=kind.category,
                mpn=mpn,
                gtin=gtin,
                color=rng.choice(COLORS),
                features=tuple(rng.sample(kind.features, 2)),
                weight_lb=rng.randrange(kind.weight_range[0], kind.weight_range[1] + 1, 10),
                height_min_in=height_min,
                height_max_in=height_min + rng.randrange(16, 24),
                warranty_years=rng.choice((1, 1, 2, 3, 5)),
                quality=round(min(4.9, max(1.8, rng.gauss(4.0, 0.55))), 2),
            )
        )
    return products


def _gtin(rng: random.Random) -> str:
    # "0" + UPC-A with a fictional "08" company prefix range: a valid GTIN-13 and UPC-12.
    body = "008" + "".join(str(rng.randrange(10)) for _ in range(9))
    return body + gtin_check_digit(body)


def _unique(used: set[str], make) -> str:
    while (value := make()) in used:
        pass
    used.add(value)
    return value


def _listings(rng: random.Random, products: list[Product], demo: bool):
    rows: dict[str, list[StoreListing]] = {store: [] for store in STORES}
    used_asins: set[str] = set()
    for product in products:
        kind = KIND_BY_CATEGORY[product.category]
        base_cents = rng.randrange(kind.price_range[0], kind.price_range[1] + 1) * 100
        stores = rng.sample(STORES, rng.choice((2, 3, 3, 4)))
        titles: set[str] = set()
        for store in sorted(stores, key=STORES.index):
            title = _title(rng, store, product, kind)
            while title in titles:  # the same product is worded differently by each store
                title = _title(rng, store, product, kind)
            titles.add(title)
            index = len(rows[store])
            if store == "amazon":
                key = _unique(
                    used_asins,
                    lambda: (
                        "B0"
                        + "".join(
                            rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8)
                        )
                    ),
                )
                slug = "-".join(re.findall(r"[A-Za-z0-9]+", title)[:7])
            elif store == "walmart":
                slug = "-".join(re.findall(r"[A-Za-z0-9]+", title))
                key = str(_number_id(store, index))
            else:
                slug = slugify(f"{product.brand} {product.line} {product.noun} {product.mpn}")
                key = slug
            count, stars, stride, offset = _reviews(rng, product, demo)
            price, list_price, in_stock = _offer(rng, store, base_cents)
            rows[store].append(
                StoreListing(
                    store=store,
                    index=index,
                    product=product,
                    key=key,
                    slug=slug,
                    title=title,
                    price_cents=price,
                    list_price_cents=list_price,
                    in_stock=in_stock,
                    show_gtin=store != "amazon" and rng.random() < 0.6,
                    show_mpn=rng.random() < 0.6,
                    number_id=_number_id(store, index),
                    variant_id=40_000_000_000_000 + index * 1013 if store == "shopify" else 0,
                    use_microdata=store == "woocommerce" and rng.random() < 0.25,
                    review_count=count,
                    star_counts=stars,
                    review_stride=stride,
                    review_offset=offset,
                    first_comment_id=0,  # numbered by _reviewer_pools
                )
            )
    return rows


def _with_an_unpriced_listing(rows: dict[str, list[StoreListing]]) -> dict[str, list[StoreListing]]:
    """Every catalog shows a listing without a price (a crawl must store it as unknown, not 0).

    Chance gives most catalogs one; a small one that drew none gets its first Amazon listing
    (else the first non-Shopify one: a Shopify variant always has a price) made unavailable.
    """
    if any(row.price_cents is None for store_rows in rows.values() for row in store_rows):
        return rows
    for store in ("amazon", "walmart", "woocommerce"):
        if rows[store]:
            rows[store][0] = replace(
                rows[store][0], price_cents=None, list_price_cents=None, in_stock=False
            )
            break
    return rows


# pattern -> (least planted reviews, share of the listing's own reviews, share of them 4-star)
PLANT_SIZES = {
    "unverified_boost": (20, 0.8, 0.0),
    "one_review_reviewers": (12, 0.35, 0.0),
    "burst": (24, 0.35, 0.0),
    "incentivised": (10, 0.3, 0.2),
    "repeated_phrasing": (12, 0.3, 0.0),
    "single_brand_reviewers": (10, 0.3, 0.0),
    "short_five_star": (12, 0.35, 0.0),
    "review_gating": (0, 0.0, 0.0),  # plants no reviews (see GATING)
}
MIN_REVIEWS_TO_PLANT = 20
# Review gating plants no reviews: the store only asks its happy buyers for one, so its 1-3
# star reviews of the product never appear and its 4-5 star ones make up the same volume.
GATING = "review_gating"


def _plant_patterns(
    rng: random.Random, rows: dict[str, list[StoreListing]], products: list[Product]
) -> dict[str, list[StoreListing]]:
    """Plant each trust pattern on a few listings, mostly of weaker products (who would need it).

    One listing per planted product, except single-brand reviewers: they review two products
    of one brand in one store, so that pattern is planted on such pairs.
    """
    per_pattern = 2
    if len(products) > DEMO_MODELS:
        per_pattern = max(2, round(len(products) * PLANTED_SHARE / len(PATTERNS)))
    eligible = [
        row for store in STORES for row in rows[store] if row.review_count >= MIN_REVIEWS_TO_PLANT
    ]
    planted: dict[tuple[str, int], tuple[str, int]] = {}  # (store, index) -> (pattern, count)
    taken: set[str] = set()  # product ids with a planted listing
    by_brand: dict[tuple[str, str], list[StoreListing]] = {}
    for row in eligible:
        by_brand.setdefault((row.store, row.product.brand), []).append(row)
    groups = [group for group in by_brand.values() if len(group) >= 2]
    rng.shuffle(groups)
    pairs = 0
    for group in groups:
        free = [row for row in group if row.product.product_id not in taken]
        if pairs * 2 >= per_pattern or len(free) < 2:
            continue
        first, second = rng.sample(free, 2)
        count = _plant_size("single_brand_reviewers", min(first.review_count, second.review_count))
        for row in (first, second):
            planted[(row.store, row.index)] = ("single_brand_reviewers", count)
            taken.add(row.product.product_id)
        pairs += 1
    others = [p for p in PATTERNS if p != "single_brand_reviewers"]
    wanted = dict.fromkeys(others, per_pattern)
    # gating shows against the product's reviews at other stores: only multi-store products
    listed: dict[str, int] = {}
    for row in eligible:
        listed[row.product.product_id] = listed.get(row.product.product_id, 0) + 1
    # weaker products first, with some noise so not only the very worst are planted
    order = sorted(eligible, key=lambda row: row.product.quality + rng.uniform(0, 0.8))
    turn = 0
    for row in order:
        if not any(wanted.values()):
            break
        if row.product.product_id in taken:
            continue
        fits = [
            step
            for step in range(len(others))
            if wanted[others[(turn + step) % len(others)]]
            and (
                others[(turn + step) % len(others)] != GATING or listed[row.product.product_id] > 1
            )
        ]
        if not fits:
            continue
        pattern = others[(turn + fits[0]) % len(others)]
        turn += fits[0] + 1
        wanted[pattern] -= 1
        planted[(row.store, row.index)] = (pattern, _plant_size(pattern, row.review_count))
        taken.add(row.product.product_id)
    for store in STORES:
        for position, row in enumerate(rows[store]):
            if (row.store, row.index) not in planted:
                continue
            pattern, count = planted[(row.store, row.index)]
            if pattern == GATING:
                rows[store][position] = _gated(row)
                continue
            fours = round(count * PLANT_SIZES[pattern][2])
            stars = (0, 0, 0, fours, count - fours)
            rows[store][position] = replace(
                row,
                review_count=row.review_count + count,
                star_counts=tuple(a + b for a, b in zip(row.star_counts, stars)),
                pattern=pattern,
                planted=count,
                planted_start=rng.randrange(0, row.review_count // 2 + 1),
                planted_stars=stars,
            )
    return rows


def _gated(row: StoreListing) -> StoreListing:
    """The listing as a gating store shows it: its 1-3 star reviews turned into 4-5 star ones
    in the listing's own 4:5 proportion (the same volume, none of the low ratings)."""
    one, two, three, four, five = row.star_counts
    low = one + two + three
    fours = round(low * four / (four + five)) if four + five else 0
    return replace(
        row, star_counts=(0, 0, 0, four + fours, five + low - fours), pattern=GATING, planted=0
    )


def _plant_payloads(rows: dict[str, list[StoreListing]]) -> dict[str, list[StoreListing]]:
    """Put XSS payloads in each store's first listing with reviews and no planted pattern.

    The title ends with a script tag and the brand with an attribute break-out (on this listing
    only: the product's other listings keep the real brand); reviews.review_at adds the review
    payloads. A store with no such listing gets its first listing, without review payloads.
    """
    for store in STORES:
        candidates = [row for row in rows[store] if row.review_count and row.pattern is None]
        candidates = candidates or rows[store][:1]
        for row in candidates[:1]:
            product = replace(row.product, brand=row.product.brand + XSS_BRAND)
            rows[store][row.index] = replace(
                row, title=f"{row.title} {XSS_TITLE}", product=product, hostile=True
            )
    return rows


def _plant_size(pattern: str, natural: int) -> int:
    least, share, _ = PLANT_SIZES[pattern]
    return max(least, round(natural * share))


def _reviewer_pools(
    rng: random.Random, rows: dict[str, list[StoreListing]]
) -> dict[str, list[StoreListing]]:
    """Give each store a pool of regular reviewers, each reviewing several of its listings.

    The pool size is prime, so any stride walks a listing's reviews through distinct reviewers.
    WooCommerce comment ids are numbered once the review counts are final.
    """
    for store in STORES:
        if not rows[store]:
            continue
        total = sum(row.review_count for row in rows[store])
        busiest = max(row.review_count for row in rows[store])
        pool = _next_prime(max(53, total // REVIEWS_PER_REVIEWER, busiest + 1))
        comment_id = 1000
        for position, row in enumerate(rows[store]):
            rows[store][position] = replace(
                row,
                reviewer_pool=pool,
                reviewer_offset=rng.randrange(pool),
                reviewer_stride=rng.randrange(1, pool),
                first_comment_id=comment_id if store == "woocommerce" else 0,
            )
            comment_id += row.review_count
    return rows


def _next_prime(number: int) -> int:
    while any(number % d == 0 for d in range(2, math.isqrt(number) + 1)):
        number += 1
    return number


def _number_id(store: str, index: int) -> int:
    if store == "shopify":
        return 7_000_000_000_000 + index * 104_729
    if store == "woocommerce":
        return 100 + index * 3
    if store == "walmart":
        return 100_000_000 + index * 7_919
    return 0


def _title(rng: random.Random, store: str, product: Product, kind: Kind) -> str:
    shape = rng.choice(TITLE_SHAPES[store])
    extra = [f for f in kind.features if f not in product.features]
    return shape.format(
        brand=product.brand,
        line=product.line,
        noun=product.noun,
        noun_lower=product.noun.lower(),
        NOUN=product.noun.upper(),
        mpn=product.mpn,
        color=product.color,
        weight=product.weight_lb,
        f1=product.features[0],
        f2=product.features[1] if rng.random() < 0.5 or not extra else rng.choice(extra),
        pack=rng.choice(PACKS),
    )


def _offer(rng: random.Random, store: str, base_cents: int) -> tuple[int | None, int | None, bool]:
    """(price, list price, in stock): some on sale, some out of stock, some with no price."""
    roll = rng.random()
    if store != "shopify" and roll < 0.07:  # a Shopify variant always has a price
        return None, None, False
    price = int(base_cents * rng.uniform(0.88, 1.15)) // 100 * 100 + rng.choice((99, 95, 49, 0))
    list_price = None
    if rng.random() < 0.25:
        list_price = int(price * rng.uniform(1.12, 1.4)) // 100 * 100 + 99
    return price, list_price, rng.random() >= 0.12


def _reviews(rng: random.Random, product: Product, demo: bool) -> tuple[int, tuple, int, int]:
    """Review count, star histogram and the stride/offset that interleave the stars."""
    if rng.random() < 0.03:
        return 0, (0, 0, 0, 0, 0), 1, 0
    # Demo listings are busy (thousands of reviews in all); at scale a model has ~100 in all.
    count = rng.randrange(20, 86) if demo else rng.randrange(5, 62)
    centre = product.quality + rng.gauss(0, 0.15)
    weights = [math.exp(-((stars - centre) ** 2) / 1.3) for stars in range(1, 6)]
    weights[0] += 0.04  # the angry 1-star tail every store has
    total = sum(weights)
    exact = [count * w / total for w in weights]
    stars = [int(x) for x in exact]
    for i in sorted(range(5), key=lambda i: exact[i] - stars[i], reverse=True)[
        : count - sum(stars)
    ]:
        stars[i] += 1
    stride = max(1, round(count * 0.618))  # golden-ratio stride spreads the stars evenly
    while math.gcd(stride, count) != 1:
        stride += 1
    return count, tuple(stars), stride, rng.randrange(count)
