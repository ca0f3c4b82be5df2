"""`backrank links`: a read-only health check of the affiliate links already published on a site.

It reads every published post and page (the public REST API, paged to the end; the site's
sitemap when the API is closed), finds the outbound affiliate links (Amazon links, and links to
the catalog's stores) and reports, per post: products that are gone, out of stock or no longer
ranked, Amazon links without the owner's tag or with someone else's, affiliate links without
``rel="sponsored"``, a first affiliate link above any disclosure, and products not in the
catalog yet. It never writes to the site.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.etree
import lxml.html
import pandas as pd
import requests

from reports import values
from reports.wordpress.rest import (
    Forbidden,
    NotAuthorized,
    RestClosed,
    WordPressClient,
    WordPressError,
)

# What a finding is about, and what the owner should do; the order is the report's.
KINDS = {
    "gone": "links to a product the store no longer lists: replace or remove the link",
    "out_of_stock": "links to a product that is out of stock: link an alternative",
    "not_ranked": "links to a product that is no longer ranked: check the recommendation",
    "amazon_no_tag": "Amazon link without a tag: it earns nothing",
    "amazon_other_tag": "Amazon link with someone else's tag: it earns for them",
    "no_sponsored": 'affiliate link without rel="sponsored": search engines ask for it',
    "link_before_disclosure": "the first affiliate link comes before any disclosure",
    "not_in_catalog": "a product not in the catalog yet: add it to compare it",
}
DISCLOSURE_WORDS = re.compile(
    r"commission|affiliate|amazon associate|paid link|sponsored|earn from qualifying", re.I
)
ASIN_IN_PATH = re.compile(
    r"/(?:dp|gp/product|gp/aw/d|exec/obidos/asin)/([A-Z0-9]{10})(?:[/?]|$)", re.I
)
AMAZON_HOST = re.compile(r"(^|\.)amazon\.[a-z.]+$|(^|\.)amzn\.(to|eu|com)$", re.I)
CONTENT_CLASSES = ("wp-block-post-content", "entry-content", "post-content")


@dataclass(frozen=True)
class PublishedPost:
    """A published post or page: its address, title and content HTML."""

    url: str
    title: str
    html: str


@dataclass(frozen=True)
class Finding:
    post_url: str
    post_title: str
    kind: str
    link: str | None
    detail: str
    fix: str | None = None  # a ready catalog line, for products not in the catalog


@dataclass
class LinkReport:
    site: str
    source: str  # "rest" or "sitemap"
    posts: int = 0
    affiliate_links: int = 0
    findings: list[Finding] = field(default_factory=list)
    clean_posts: list[str] = field(default_factory=list)

    @property
    def needs_fixing(self) -> bool:
        return bool(self.findings)

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for f in self.findings if f.kind == kind) for kind in KINDS}

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "source": self.source,
            "posts": self.posts,
            "affiliate_links": self.affiliate_links,
            "counts": self.counts(),
            "findings": [asdict(f) for f in self.findings],
            "clean_posts": self.clean_posts,
        }


# --- what the catalog and store know ------------------------------------------------------


@dataclass(frozen=True)
class KnownListing:
    store: str
    gone: bool
    availability: str | None
    ranked: bool


@dataclass
class Catalogue:
    """What the link check compares links with: the owner's Amazon tags, the stores' hosts,
    and every listing the store holds by ASIN and by URL."""

    amazon_tags: frozenset[str]
    store_hosts: Mapping[str, str]  # host[:port] -> store name
    amazon_store: str | None
    by_asin: dict[str, KnownListing] = field(default_factory=dict)
    by_url: dict[str, KnownListing] = field(default_factory=dict)


def _url_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or ''}{parts.path.rstrip('/')}"


def catalogue(catalog: Any, offers: pd.DataFrame, product_listings: pd.DataFrame,
              products: pd.DataFrame) -> Catalogue:  # fmt: skip
    """The catalog's affiliate setup and the store's latest offers, for looking links up."""
    tags = frozenset(
        str(p.params["tag"]) for p in catalog.affiliates.values()
        if p.kind == "amazon" and p.params.get("tag")
    )  # fmt: skip
    hosts: dict[str, str] = {}
    amazon_store = None
    for store in catalog.stores:
        for url in store.urls:
            parts = urlsplit(url)
            if parts.hostname:
                hosts[parts.netloc.lower()] = store.name
        program = catalog.affiliates.get(store.affiliate) if store.affiliate else None
        if store.platform == "amazon" or (program is not None and program.kind == "amazon"):
            amazon_store = amazon_store or store.name
    ranked_listings = set()
    if len(product_listings) and len(products):
        ranked_ids = set(products["product_id"].astype(str))
        for row in values.records(product_listings[["product_id", "listing_id"]]):
            if str(row["product_id"]) in ranked_ids and not values.missing(row["listing_id"]):
                ranked_listings.add(int(row["listing_id"]))
    known = Catalogue(tags, hosts, amazon_store)
    columns = [
        c
        for c in ("listing_id", "store", "url", "canonical_url", "asin", "availability", "gone")
        if c in offers.columns
    ]
    for row in values.records(offers[columns]) if len(offers) else []:
        gone = row.get("gone")
        listing = KnownListing(
            store=str(row["store"]),
            gone=bool(gone) if not values.missing(gone) else False,
            availability=values.text(row.get("availability")),
            ranked=int(row["listing_id"]) in ranked_listings,
        )
        if asin := values.text(row.get("asin")):
            known.by_asin[asin.upper()] = listing
        for key in ("url", "canonical_url"):
            if url := values.text(row.get(key)):
                known.by_url[_url_key(url)] = listing
    return known


# --- reading the site -------------------------------------------------------------------


def posts_from_rest(client: WordPressClient) -> Iterator[PublishedPost]:
    """Every published post and page through the public REST API, page by page."""
    for route in ("/wp/v2/posts", "/wp/v2/pages"):
        for item in client.pages(route, _fields="id,link,title,content", status="publish"):
            yield PublishedPost(
                url=str(item.get("link") or ""),
                title=_rendered(item.get("title")),
                html=_rendered(item.get("content")),
            )


def _rendered(value: Any) -> str:
    return str(value.get("rendered") or "") if isinstance(value, dict) else str(value or "")


def posts_from_sitemap(
    site: str, session: requests.Session, timeout: float
) -> Iterator[PublishedPost]:
    """Every post and page the site's sitemap lists (``/wp-sitemap.xml``), fetched as HTML."""
    for url in _sitemap_urls(site.rstrip("/") + "/wp-sitemap.xml", session, timeout, depth=0):
        path = urlsplit(url).path
        if "/author/" in path or "/category/" in path or "/tag/" in path:
            continue
        response = session.get(url, timeout=timeout)
        if response.status_code != 200:
            continue
        document = lxml.html.fromstring(response.text)
        title = (document.findtext(".//title") or url).strip()
        yield PublishedPost(url=url, title=title, html=_content_html(document))


def _sitemap_urls(url: str, session: requests.Session, timeout: float, depth: int) -> list[str]:
    response = session.get(url, timeout=timeout)
    if response.status_code != 200 or depth > 2:
        raise WordPressError(f"{url}: HTTP {response.status_code}, no sitemap to read instead")
    root = lxml.etree.fromstring(response.content)
    locations = [loc.text.strip() for loc in root.iter("{*}loc") if loc.text]
    if root.tag.endswith("sitemapindex"):
        wanted = [loc for loc in locations if re.search(r"-(posts|pages)-", loc)]
        return [u for loc in wanted for u in _sitemap_urls(loc, session, timeout, depth + 1)]
    return locations


def _content_html(document: Any) -> str:
    """The post's own content, not the theme around it (whose links are not the owner's posts')."""
    for css in CONTENT_CLASSES:
        found = document.find_class(css)
        if found:
            return lxml.html.tostring(found[0], encoding="unicode")
    for tag in ("article", "main", "body"):
        element = document.find(f".//{tag}")
        if element is not None:
            return lxml.html.tostring(element, encoding="unicode")
    return ""


# --- checking one post --------------------------------------------------------------------


def _amazon(host: str) -> bool:
    return bool(AMAZON_HOST.search(host))


def check_post(post: PublishedPost, known: Catalogue) -> tuple[list[Finding], int]:
    """The findings of one post and how many affiliate links it has."""
    if not post.html.strip():
        return [], 0
    document = lxml.html.fromstring(f"<div>{post.html}</div>")
    findings: list[Finding] = []
    text_so_far: list[str] = []  # the post's text up to the current element, in reading order
    links = 0
    for event, element in lxml.etree.iterwalk(document, events=("start", "end")):
        if not isinstance(element.tag, str):  # comments (block delimiters), processing instr.
            if event == "end":
                text_so_far.append(element.tail or "")
            continue
        if event == "end":
            text_so_far.append(element.tail or "")
            continue
        if element.tag == "a":
            disclosed = bool(DISCLOSURE_WORDS.search("".join(text_so_far)))
            found = _check_link(post, element, known, first=links == 0, disclosed=disclosed)
            if found is not None:
                links += 1
                findings.extend(found)
        text_so_far.append(element.text or "")
    return findings, links


def _check_link(
    post: PublishedPost, anchor: Any, known: Catalogue, *, first: bool, disclosed: bool
) -> list[Finding] | None:
    """The findings of one link; None when it is not an affiliate link."""
    href = (anchor.get("href") or "").strip()
    parts = urlsplit(href)
    store = known.store_hosts.get(parts.netloc.lower())
    amazon = _amazon((parts.hostname or "").lower())
    if not (amazon or store):
        return None
    findings: list[Finding] = []

    def found(kind: str, detail: str, fix: str | None = None) -> None:
        findings.append(Finding(post.url, post.title, kind, href, detail, fix))

    if first and not disclosed:
        found("link_before_disclosure", "no disclosure above the first affiliate link")
    rel = (anchor.get("rel") or "").lower().split()
    if "sponsored" not in rel:
        found("no_sponsored", f'rel="{" ".join(rel)}"' if rel else "no rel attribute")
    listing = None
    # amzn.to short links carry their tag and product behind a redirect, never followed here
    short = bool(re.search(r"(^|\.)amzn\.", parts.hostname or ""))
    if amazon and not short:
        tags = parse_qs(parts.query).get("tag", [])
        if not tags:
            found("amazon_no_tag", "no tag= parameter")
        elif known.amazon_tags and not set(tags) & known.amazon_tags:
            found(
                "amazon_other_tag", f"tag={tags[0]}, yours: {', '.join(sorted(known.amazon_tags))}"
            )
        asin = ASIN_IN_PATH.search(parts.path)
        if asin:
            code = asin.group(1).upper()
            listing = known.by_asin.get(code)
            if listing is None:
                found("not_in_catalog", f"ASIN {code}",
                      _catalog_line(known.amazon_store, f"https://www.amazon.com/dp/{code}"))  # fmt: skip
    elif not amazon:
        listing = known.by_url.get(_url_key(href))
        if listing is None:
            clean = f"{parts.scheme}://{parts.netloc}{parts.path}"
            found("not_in_catalog", f"not a listing of {store}", _catalog_line(store, clean))
    if listing is not None:
        if listing.gone:
            found("gone", f"{listing.store} no longer lists it")
        elif listing.availability == "out_of_stock":
            found("out_of_stock", f"out of stock at {listing.store}")
        elif not listing.ranked:
            found("not_ranked", "the product is not in the current ranking")
    return findings


def _catalog_line(store: str | None, url: str) -> str:
    """The catalog line that adds the product: the store's ``product_urls``."""
    quoted = url.replace("\\", "\\\\").replace('"', '\\"')
    where = f'[[stores]] name = "{store}"' if store else "a new [[stores]] entry"
    return f'product_urls = ["{quoted}"]  # add to {where}'


def check_posts(
    site: str, source: str, posts: Iterable[PublishedPost], known: Catalogue
) -> LinkReport:
    report = LinkReport(site=site, source=source)
    for post in posts:
        report.posts += 1
        findings, links = check_post(post, known)
        report.affiliate_links += links
        report.findings.extend(findings)
        if links and not findings:
            report.clean_posts.append(post.url)
    return report


def check_site(client: WordPressClient, known: Catalogue) -> LinkReport:
    """Read the site (REST API, else its sitemap) and check every post; never writes."""
    try:
        posts = list(posts_from_rest(client))
        source = "rest"
    except (RestClosed, NotAuthorized, Forbidden):  # closed to the public, by a plugin
        posts = list(posts_from_sitemap(client.url, client.session, client.timeout))
        source = "sitemap"
    return check_posts(client.url, source, posts, known)
