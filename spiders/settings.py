"""Scrapy project settings for backrank, and `settings_for` to apply one catalog's crawl options."""

from __future__ import annotations

import typing

from scrapy.settings import Settings

from backrank.core import config as catalog_config  # a module: not read as a Scrapy setting

if typing.TYPE_CHECKING:  # a bare TYPE_CHECKING name would become a Scrapy setting
    from backrank.core.config import Catalog

BOT_NAME = "backrank"
# `spiders` also holds items, extraction and pipelines: only this module defines spiders.
SPIDER_MODULES = ["spiders.catalog_spider"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "backrank/0.1 (+https://github.com/backrank/backrank)"
ROBOTSTXT_OBEY = True
# Scrapy 2.19's middleware lets requests that wait for robots.txt alongside another one
# through unchecked; spiders.robots fixes that (see its docstring).
DOWNLOADER_MIDDLEWARES = {
    # each store's requests only to its own catalog origins (scheme, host and port)
    "spiders.offsite.StoreOffsiteMiddleware": 55,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "spiders.middlewares.AmazonPagesMiddleware": 50,  # Amazon is read through its API
    "spiders.robots.RobotsTxtMiddleware": 100,
    "spiders.budgets.PageBudgetMiddleware": 110,  # after robots.txt: a refused page is no page
    # RetryMiddleware plus Retry-After, robot-check and cut-off-HTML retries (spiders.middlewares)
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.middlewares.FaultTolerantRetryMiddleware": 550,
}

# Politeness: AutoThrottle adapts the delay to the server's latency; the delay is its floor.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # +-50% of the delay, so requests don't tick like a metronome
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
DOWNLOAD_TIMEOUT = 30
BACKRANK_RETRY_AFTER_MAX = 30.0  # seconds: a longer Retry-After waits this long, not more
# No product page needs 10 MB; a bigger one is a runaway template, cancelled and counted.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = True  # a body shorter than its Content-Length fails, and is retried
REDIRECT_MAX_TIMES = 5  # a redirect loop gives up after this many hops, counted as redirect_loop

HTTPCACHE_ENABLED = False
HTTPCACHE_DIR = "httpcache"
HTTPCACHE_EXPIRATION_SECS = 24 * 3600
HTTPCACHE_IGNORE_HTTP_CODES = [429, 500, 502, 503, 504]

ITEM_PIPELINES = {
    "spiders.pipelines.ValidatePipeline": 100,
    "spiders.pipelines.NormalisePipeline": 200,
    "spiders.pipelines.StorePipeline": 300,
}
EXTENSIONS = {
    "spiders.progress.CrawlProgress": 500,
    "spiders.middlewares.OversizeBodies": 500,
}

# The asyncio reactor is Scrapy's default since 2.7; stated so nothing installs another.
# REQUEST_FINGERPRINTER_IMPLEMENTATION is gone in Scrapy 2.12+ (the "2.7" fingerprinter is
# the only one), so it is not set: setting it would only be noise.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
# A crawler opens no control ports: no telnet console, no remote-control HTTP server.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# backrank's own settings
BACKRANK_CATALOG = None  # catalog.toml path, when the spider gets no `catalog` argument
BACKRANK_DB = None  # SQLite path the StorePipeline writes to
BACKRANK_RUN_ID = None  # runs.id this crawl's offers belong to
BACKRANK_MAX_REVIEW_PAGES = 50  # review pages followed per listing
BACKRANK_PROGRESS = False  # rich live progress line (spiders.progress)

BACKRANK_IMPOLITE_CONCURRENCY = 16  # floor for polite = false (local demo and benchmarks only)


def settings_for(
    catalog: Catalog,
    db_path: str,
    run_id: int | None = None,
    polite: bool | None = None,
    quiet: bool = False,
    extra: dict[str, object] | None = None,
) -> Settings:
    """Project settings with the catalog's [crawl] options, the database and the run applied.

    `polite` overrides the catalog's ``crawl.polite``; ``False`` turns off AutoThrottle and
    delays and raises concurrency. robots.txt is obeyed whatever `polite` says. `extra`
    settings (``JOBDIR``, a test's short ``DOWNLOAD_TIMEOUT``) go on top.
    """
    settings = Settings()
    settings.setmodule("spiders.settings", priority="project")
    crawl = catalog.crawl
    concurrency = max(1, int(crawl.concurrency))
    overrides: dict[str, object] = {
        "BACKRANK_DB": str(db_path),
        "BACKRANK_RUN_ID": run_id,
        "BACKRANK_MAX_REVIEW_PAGES": int(crawl.max_review_pages),
        "HTTPCACHE_ENABLED": bool(crawl.http_cache),
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": min(concurrency, CONCURRENT_REQUESTS_PER_DOMAIN),
        "BACKRANK_PROGRESS": not quiet,
        "LOG_LEVEL": "ERROR" if quiet else "WARNING",  # the progress line carries the figures
    }
    if crawl.user_agent and crawl.user_agent != catalog_config.DEFAULT_USER_AGENT:
        overrides["USER_AGENT"] = crawl.user_agent  # the catalog names its own crawler
    if not (crawl.polite if polite is None else polite):
        fast = max(concurrency, settings.getint("BACKRANK_IMPOLITE_CONCURRENCY"))
        overrides |= {
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "DOWNLOAD_DELAY_JITTER": 0,
            "CONCURRENT_REQUESTS": fast,
            "CONCURRENT_REQUESTS_PER_DOMAIN": fast,
        }
    overrides |= dict(extra or {})
    overrides["ROBOTSTXT_OBEY"] = True  # never negotiable, polite or not
    settings.setdict(overrides, priority="cmdline")
    return settings
