"""Where a published store link may point: only at the store's own hosts (those of its catalog
URLs, plus the ``link_hosts`` its owner lists), so a store cannot send readers elsewhere
through a canonical URL such as ``https://evil.example/phish``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from reports.values import safe_http_url

DEFAULT_PORTS = (80, 443)
Host = tuple[str, int | None]  # host name, port (None for the scheme's default)


def host_of(url: str) -> Host | None:
    """``(host, port)`` of a URL (``//host:port`` for a bare host), port None when default."""
    try:
        parts = urlsplit(url if "//" in url else f"//{url}")
        port = parts.port
    except ValueError:  # a port that is no number or out of range
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower().rstrip("."), None if port in DEFAULT_PORTS else port


def store_hosts(store: Any) -> frozenset[Host]:
    """The hosts a store's links may go to: its catalog URLs' and its ``link_hosts``."""
    if store is None:
        return frozenset()
    named = tuple(store.urls) + tuple(getattr(store, "link_hosts", ()))
    return frozenset(host for entry in named if (host := host_of(entry)) is not None)


def store_url(hosts: frozenset[Host], url: Any) -> str | None:
    """``url`` when it is an http(s) URL on one of ``hosts``, else None."""
    safe = safe_http_url(url)
    return safe if safe is not None and host_of(safe) in hosts else None


def offer_urls(catalog: Any, offer: Mapping[str, Any]) -> tuple[str | None, str | None, int]:
    """``(canonical_url, url, dropped)`` of an offer with each URL kept only when it is on the
    store's own hosts; ``dropped`` counts the http(s) URLs that pointed elsewhere."""
    hosts = store_hosts(catalog.store(str(offer.get("store"))))
    kept, dropped = [], 0
    for column in ("canonical_url", "url"):
        raw = offer.get(column)
        url = store_url(hosts, raw)
        if url is None and safe_http_url(raw) is not None:
            dropped += 1
        kept.append(url)
    return kept[0], kept[1], dropped


def offsite_link_count(catalog: Any, offers: pd.DataFrame) -> int:
    """How many store-given URLs of ``offers`` were left off the site for pointing elsewhere."""
    if offers.empty:
        return 0
    columns = [c for c in ("store", "canonical_url", "url") if c in offers.columns]
    return sum(offer_urls(catalog, row)[2] for row in offers[columns].to_dict("records"))
