"""`backrank links`: check the affiliate links already published on the owner's site."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from backrank.app.publish import site_url
from backrank.app.refresh import EXIT_FAILED, EXIT_OK, EXIT_WARNINGS, Context, StepOutcome
from backrank.core.store import Store
from backrank.core.store.target import state_path
from reports.wordpress.link_report import write_link_report
from reports.wordpress.links import LinkReport, catalogue, check_site
from reports.wordpress.rest import WordPressClient, WordPressError


def findings_table(report: LinkReport) -> Table:
    table = Table(title=f"Affiliate links on {report.site}: {len(report.findings)} to fix")
    for column in ("post", "problem", "link", "detail"):
        table.add_column(column, overflow="fold")
    for finding in report.findings:
        detail = finding.detail + (f"\n{finding.fix}" if finding.fix else "")
        table.add_row(
            Text(finding.post_title or finding.post_url), Text(finding.kind),
            Text(finding.link or ""), Text(detail),
        )  # fmt: skip
    return table


def links_step(context: Context, url: str | None = None) -> StepOutcome:
    """Read the site, check every affiliate link, print and write the report.

    Exit 0 when nothing needs fixing, 1 when something does, 2 when the site cannot be read.
    """
    with Store.open(context.db_path) as store:
        offers = store.read_offers(latest=True)
        # gone listings stay in the lookup, so a link to one is reported as gone
        known = catalogue(
            context.catalog, offers, store.read_product_listings(), store.read_products()
        )
    with WordPressClient(
        site_url(context, url), timeout=context.catalog.wordpress.timeout
    ) as client:
        try:
            report = check_site(client, known)
        except WordPressError as error:
            summary = f"links: {error}"
            print(f"backrank: {summary}", file=sys.stderr)
            return StepOutcome(EXIT_FAILED, summary)
    _, html_path = write_link_report(report, state_path(context.db_path, ".reports"))
    if report.findings:
        Console(stderr=False, width=None if sys.stdout.isatty() else 200).print(
            findings_table(report)
        )
    counts = ", ".join(f"{kind} {n}" for kind, n in report.counts().items() if n) or "none"
    summary = (
        f"links: {report.posts} posts and pages, {report.affiliate_links} affiliate links, "
        f"{len(report.findings)} to fix ({counts}); report: {html_path}"
    )
    print(summary)
    return StepOutcome(EXIT_WARNINGS if report.needs_fixing else EXIT_OK, summary)
