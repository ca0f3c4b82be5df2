"""`backrank probe URL`: what backrank would use on a store, printed for its owner.

The deciding is done by ``spiders.probe`` (it lives with the sources); this module only
fetches over HTTP with the crawler's User-Agent and prints the findings.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from typing import TextIO

from backrank.core.config import DEFAULT_USER_AGENT
from spiders.probe import Fetched, Finding, Probe, probe_store

TIMEOUT_SECONDS = 20
MAX_BYTES = 10 * 1024 * 1024  # a page or sitemap larger than this is read only this far


def http_fetcher(user_agent: str):
    """A `fetch` for ``probe_store``: GET with the User-Agent, errors as answers, never raising."""

    def fetch(url: str) -> Fetched:
        request = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept": "*/*"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                headers = {name.lower(): value for name, value in response.headers.items()}
                return Fetched(response.status, response.read(MAX_BYTES), headers)
        except urllib.error.HTTPError as error:
            headers = {name.lower(): value for name, value in error.headers.items()}
            return Fetched(error.code, error.read(MAX_BYTES), headers)
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            return Fetched(None, error=str(reason))

    return fetch


def run_probe(url: str, user_agent: str = DEFAULT_USER_AGENT, out: TextIO | None = None) -> int:
    """Probe the store and print the report; exit 0 when the store answered at all."""
    probe = probe_store(url, http_fetcher(user_agent), user_agent)
    (out or sys.stdout).write(render(probe, user_agent))
    answered = probe.robots.found or probe.product_url or any(f.found for f in probe.feeds)
    return 0 if answered else 1


def _line(label: str, finding: Finding | None) -> str:
    if finding is None:
        return ""
    mark = "yes" if finding.found else "no "
    return f"  {label:<16}{mark}  {finding.summary}\n  {'':<16}     {finding.url}\n"


def render(probe: Probe, user_agent: str) -> str:
    """The probe as text: the path first, then each finding, then the catalog entry."""
    text = [
        f"Store:     {probe.origin}\n",
        f"Platform:  {probe.platform}\n",
        f"Path:      {probe.path} — {probe.path_text}\n\n",
        f"robots.txt for {user_agent}:\n",
        _line("robots.txt", probe.robots),
    ]
    for rule in probe.robots_rules:
        text.append(f"    {rule}\n")
    for path, allowed in probe.allowed.items():
        text.append(f"    {path}: {'allowed' if allowed else 'DISALLOWED'}\n")
    text.append("\nSources:\n")
    for feed in probe.feeds:
        text.append(_line("feed", feed))
    for sitemap in probe.sitemaps:
        text.append(_line("sitemap", sitemap))
    if not probe.sitemaps and not probe.not_crawled:
        text.append(
            "  sitemap         no   none found (robots.txt, /sitemap.xml, /sitemap_index.xml)\n"
        )
    text.append(f"\nProduct page: {probe.product_url or 'none found'}\n")
    text.append(_line("structured data", probe.structured_data))
    text.append(_line("review app", probe.review_app))
    for note in probe.notes:
        text.append(f"  note: {note}\n")
    text.append("\nSuggested catalog entry:\n\n" + probe.catalog_entry())
    return "".join(text)
