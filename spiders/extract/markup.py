"""Decode page bytes and give a parsel Selector plus small text helpers shared by the parsers."""

from __future__ import annotations

import functools
import html as html_lib
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree
from parsel import Selector
from parsel.selector import create_root_node
from w3lib.encoding import html_to_unicode

_SPACE = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\ufeff]")  # bidi marks, zero widths


def decode_html(html: str | bytes) -> str:
    """Page text: UTF-8 whenever the bytes are valid UTF-8 (Amazon's later iso-8859-1 meta lies),
    else the BOM / meta charset, else windows-1252 when the declared charset cannot read them
    (a page declared UTF-8 but saved as windows-1252), else a best guess."""
    if isinstance(html, str):
        return html
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        _, text = html_to_unicode(None, html)
        if "\ufffd" not in text:
            return text
    try:
        return html.decode("cp1252")
    except UnicodeDecodeError:  # bytes windows-1252 leaves undefined: keep the best guess
        return text


@functools.lru_cache(maxsize=2)
def lowered_page(text: str) -> str:
    """The page text lower-cased, once per page: the block check, the structured-data hints and
    the label hints all search it (a str caches its hash, so the cache costs one pass)."""
    return text.lower()


def selector(html: str | bytes) -> Selector:
    """A parsel Selector over the decoded page."""
    return html_selector(decode_html(html))


# The element an id selector starts from, as the CSS translator writes it at the start of each
# branch of a union: "descendant-or-self::*[@id = 'price']" or "...::input[@id = 'ASIN']".
_ID_STEP = re.compile(r"(^|\| )descendant-or-self::(\*|[A-Za-z][\w-]*)\[@id = '([^']+)'\]")


class PageSelector(Selector):
    """A parsel Selector whose CSS id selectors on the whole page use the document's id index.

    The CSS translator turns "#price" into a scan of every element; libxml2 indexes the ids
    of an HTML document, and XPath's id() reads that index. Only queries run on the page's
    root are rewritten (id() looks at the whole document, whatever the context node), and
    only the id step itself: the rest of the query is the translator's.
    """

    def _css2xpath(self, query: str) -> str:
        xpath = super()._css2xpath(query)
        if self.root is None or not isinstance(self.root, etree._Element):
            return xpath
        if self.root.getparent() is not None:
            return xpath
        return _ID_STEP.sub(_by_id, xpath)


def _by_id(match: re.Match) -> str:
    lead, tag, element_id = match.groups()
    return f"{lead}id('{element_id}')" + ("" if tag == "*" else f"[self::{tag}]")


def html_selector(text: str) -> Selector:
    """A parsel Selector over page text, always read as HTML.

    The tree is built with lxml's plain HTML parser: lxml.html's (parsel's default) looks up a
    Python element class for every element a query returns, a tenth of the extraction time,
    and nothing here uses its extra methods. type="html": parsel would read a page that
    happens to be JSON ('{"props": null}') as JSON, where every CSS/XPath query raises.
    """
    root = create_root_node(text or "<html></html>", etree.HTMLParser)
    return PageSelector(root=root, type="html")


def text_of(nodes) -> str | None:
    """All text under the first matched node, whitespace collapsed; None when empty."""
    if not nodes:
        return None
    root = nodes[0].root
    if isinstance(root, etree._Element) and isinstance(root.tag, str):
        # lxml's itertext() gives the text nodes .//text() would, without a Selector for each
        return squash(" ".join(root.itertext()))
    return squash(" ".join(nodes[0].xpath(".//text()").getall()))


def squash(value: object) -> str | None:
    """Whitespace collapsed, HTML entities decoded; None for empty or missing."""
    if value is None:
        return None
    text = _SPACE.sub(" ", _INVISIBLE.sub("", html_lib.unescape(str(value)))).strip()
    return text or None


def absolute(url: str | None, base: str) -> str | None:
    """An absolute URL for href-ish values; None for empty ones or javascript: links."""
    if not url or not url.strip() or url.strip().lower().startswith("javascript:"):
        return None
    return urljoin(base, url.strip())


def origin(url: str) -> str:
    """The scheme and host (with its port) of a URL: ``https://shop.example:8443``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def canonical_url(sel: Selector, base: str) -> str | None:
    """The page's declared canonical URL, absolute."""
    return absolute(sel.css('link[rel="canonical"]::attr(href)').get(), base)


def page_language(sel: Selector) -> str | None:
    """Two-letter language from <html lang>, if declared."""
    lang = sel.xpath("/html/@lang").get()
    return lang.split("-")[0].lower() if lang else None


_REGION = re.compile(r"^[a-z]{2,3}[-_]([a-z]{2})\b", re.I)
# Generic top-level domains say nothing about a country; ".uk" is Great Britain's.
_TLD_COUNTRY = {"uk": "gb"}


def page_country(sel: Selector, url: str) -> str | None:
    """Two-letter country of the page's locale: og:locale ("de_AT"), else <html lang>
    ("en-GB"), else the URL's country domain (".com.ar", ".tw"); None when none says."""
    for locale in (
        sel.xpath("/html/head/meta[@property='og:locale']/@content").get(),
        sel.xpath("/html/@lang").get(),
    ):
        region = _REGION.match((locale or "").strip())
        if region:
            return region.group(1).lower()
    host = urlsplit(url).hostname or ""
    tld = host.rsplit(".", 1)[-1].lower()
    if len(tld) == 2 and tld.isalpha():
        return _TLD_COUNTRY.get(tld, tld)
    return None
