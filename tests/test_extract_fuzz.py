"""Fuzzing the extractor: random HTML, JSON-LD and bytes spliced into real store pages never
raise; every page gives a product page (a listing, or none for the spider to count as skipped)."""

from __future__ import annotations

import functools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spiders import sources
from spiders.extract.golden import read_manifest, read_page, realpages_dir
from spiders.items import Listing, ProductPage, ReviewPage
from spiders.normalise import cap_text, normalise_listing, normalise_review

REALPAGES = realpages_dir()
pytestmark = pytest.mark.skipif(
    not (REALPAGES / "manifest.json").exists(),
    reason=f"no real pages at {REALPAGES} (set BACKRANK_REALPAGES)",
)


@functools.cache
def real_pages() -> tuple[bytes, ...]:
    """The saved product pages, read in place once (never at import)."""
    entries = [entry for entry in read_manifest(REALPAGES) if entry["file"].startswith("pages/")]
    return tuple(read_page(REALPAGES, entry) for entry in entries)


SCHEMA_KEYS = (
    "@type", "@graph", "@id", "@context", "name", "offers", "price", "priceCurrency",
    "availability", "review", "reviewRating", "ratingValue", "bestRating", "author",
    "aggregateRating", "reviewCount", "brand", "sku", "mpn", "gtin13", "image", "url",
    "datePublished", "reviewBody", "itemListElement",
)  # fmt: skip
SCHEMA_TYPES = ("Product", "Offer", "AggregateOffer", "Review", "Rating", "Brand", "Person")
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(SCHEMA_TYPES)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def json_ld(draw: st.DrawFn) -> str:
    """A JSON-LD script body: random schema.org-ish JSON, sometimes nested absurdly deep or cut."""
    body = json.dumps(draw(json_values), allow_nan=True)
    depth = draw(st.sampled_from((0, 0, 0, 80, 3000)))
    body = "[" * depth + body + "]" * depth
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]
    return f'<script type="application/ld+json">{body}</script>'


ATTRIBUTES = (
    "itemscope", 'itemtype="http://schema.org/Product"', 'itemtype="https://schema.org/Offer"',
    'itemprop="name"', 'itemprop="price"', 'itemprop="offers"', 'itemprop="ratingValue"',
    'property="og:title"', 'property="og:price:amount"', 'typeof="Product"',
    'rel="canonical"', 'rel="next"', 'id="productTitle"', 'class="a-offscreen"',
    'id="__NEXT_DATA__"', 'data-hook="review"', 'lang="de"', 'charset="iso-8859-1"',
)  # fmt: skip
TAGS = ("div", "span", "a", "meta", "link", "script", "h1", "title", "html", "body", "table", "svg", "template", "iframe", "p")  # fmt: skip


def html_fragments() -> st.SearchStrategy[str]:
    text = st.text(max_size=40)  # every code point, control characters and surrogates' kin
    attribute = st.sampled_from(ATTRIBUTES) | st.builds(
        lambda name, value: f'{name}="{value}"',
        st.sampled_from(("content", "href", "src", "itemprop", "class", "id")),
        st.text(max_size=20).map(lambda value: value.replace('"', "&quot;")),
    )

    def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.builds(
            lambda tag, attributes, inner, closed: (
                f"<{tag} {' '.join(attributes)}>{''.join(inner)}" + (f"</{tag}>" if closed else "")
            ),
            st.sampled_from(TAGS),
            st.lists(attribute, max_size=3),
            st.lists(children, max_size=3),
            st.booleans(),
        )

    return st.recursive(text | json_ld(), element, max_leaves=12)


@st.composite
def mutated_pages(draw: st.DrawFn) -> bytes:
    """A real page with a random JSON-LD block in its head, random HTML or bytes spliced in
    anywhere, or cut short."""
    page = draw(st.sampled_from(real_pages()))
    at = int(draw(st.floats(0, 1)) * len(page))
    change = draw(st.sampled_from(("json-ld", "html", "bytes", "cut", "replace")))
    if change == "json-ld":  # where a parser reads it: before </head>, else at the top
        head_end = page.find(b"</head>")
        at = max(head_end, 0)
        return page[:at] + draw(json_ld()).encode("utf-8", "surrogatepass") + page[at:]
    if change == "html":
        return page[:at] + draw(html_fragments()).encode("utf-8", "surrogatepass") + page[at:]
    if change == "bytes":
        return page[:at] + draw(st.binary(max_size=200)) + page[at:]
    if change == "cut":
        return page[:at]
    end = at + draw(st.integers(0, 5000))
    return page[:at] + draw(html_fragments()).encode("utf-8", "surrogatepass") + page[end:]


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples on every run (and in CI)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    page=mutated_pages(),
    platform=st.sampled_from(("auto", "generic", "amazon", "shopify", "woocommerce", "walmart")),
)
def test_the_extractor_reads_any_page_without_a_traceback(page: bytes, platform: str) -> None:
    url = "https://shop.example/product/fuzzed"
    product = sources.parse_product_page(page, url, platform=platform)
    assert isinstance(product, ProductPage)
    if product.listing is not None:  # else the spider counts it skipped (no_product, blocked)
        assert isinstance(product.listing, Listing)
        cap_text(product.listing)
        normalise_listing(product.listing)
    for review in product.reviews:
        cap_text(review)
        normalise_review(review)
    reviews = sources.parse_review_page(page, url, platform=platform)
    assert isinstance(reviews, ReviewPage)


def test_the_fuzzed_pages_are_real_ones() -> None:
    """The fuzz test mutates real pages: without them it would only fuzz empty strings."""
    pages = real_pages()
    assert len(pages) >= 20
    assert sources.parse_product_page(pages[0], "https://shop.example/p").listing is not None
