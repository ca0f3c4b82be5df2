"""Scrapy's RobotsTxtMiddleware, fixed so requests waiting for robots.txt are all checked.

In Scrapy 2.19 every request to a host whose robots.txt is still downloading awaits one
shared Deferred through ``Deferred.asFuture``, whose callback returns None: the first
waiter gets the parser, every later one gets None, which the middleware reads as "no
robots.txt, allow everything". A crawl that starts several requests per host (sitemaps,
listing pages, product URLs) then fetched disallowed pages. Here each waiter gets its own
branch of the Deferred, so all of them see the parser. A robots.txt that cannot be
fetched also fires the pending Deferred (upstream leaves its waiters hanging).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from scrapy.http import Request
    from scrapy.robotstxt import RobotParser


def branch(deferred: Deferred[Any]) -> Deferred[Any]:
    """A new Deferred with `deferred`'s result, which stays in `deferred` for other waiters."""
    copy: Deferred[Any] = Deferred()

    def pass_on(result: Any) -> Any:
        copy.callback(result)  # a parser, or None when robots.txt could not be had
        return result

    deferred.addCallback(pass_on)
    return copy


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Obeys robots.txt for every request, however many wait for the file at once."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            return await maybe_deferred_to_future(branch(pending))
        return await super().robot_parser(request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        pending = self._parsers.get(netloc)
        super()._robots_error(exc, netloc)
        if isinstance(pending, Deferred) and not pending.called:
            pending.callback(None)  # Scrapy's rule: no robots.txt, no restrictions
