"""The reliable Redis queue and the shared per-domain schedule, against a real Redis."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import scrapy
from helpers import SITE_TOML, load_catalog_text
from scrapy.utils.request import request_from_dict

from spiders.catalog_spider import CatalogSpider
from spiders.redis_politeness import SharedSchedule
from spiders.redis_queue import (
    MAX_UNSENT,
    CrawlKeys,
    CrawlQueue,
    ReliableQueue,
    RequestCodec,
    dupefilter,
)

REDIS_VARIABLE = "BACKRANK_TEST_REDIS"


def redis_url_or_skip() -> str:
    """The test Redis; skip when unset, but fail under CI, so CI never silently skips."""
    url = os.environ.get(REDIS_VARIABLE)
    if url:
        return url
    reason = f'{REDIS_VARIABLE} is not set: no Redis to test against (eval "$(bash scripts/services.sh)")'
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def server():
    from redis import Redis

    client = Redis.from_url(redis_url_or_skip())
    yield client
    client.close()


@pytest.fixture
def keys(server) -> Iterator[CrawlKeys]:
    """A crawl of its own on the shared Redis; its keys are removed afterwards."""
    crawl_keys = CrawlKeys(f"test-{secrets.token_hex(6)}")
    yield crawl_keys
    CrawlQueue(server, crawl_keys).delete_all()


@pytest.fixture
def spider(tmp_path: Path) -> CatalogSpider:
    catalog = load_catalog_text(
        tmp_path,
        f'{SITE_TOML}[[stores]]\nname = "shop"\nproduct_urls = ["http://127.0.0.1:9/products/a"]\n',
    )
    spider = CatalogSpider(catalog=catalog)
    spider._bind_catalog(catalog)
    return spider


def product_request(spider: CatalogSpider, path: str, **kwargs) -> scrapy.Request:
    return scrapy.Request(
        f"http://127.0.0.1:9/products/{path}",
        callback=spider.parse_product,
        errback=spider.on_error,
        cb_kwargs={"store": "shop"},
        **kwargs,
    )


def queue_of(server, spider, keys: CrawlKeys, worker: str) -> ReliableQueue:
    return ReliableQueue(server, spider, keys.queue, worker=worker)


def fingerprint(server, keys: CrawlKeys, request: scrapy.Request) -> str:
    return dupefilter(server, keys).request_fingerprint(request)


def test_codec_keeps_callbacks_arguments_headers_and_body(spider: CatalogSpider) -> None:
    codec = RequestCodec()
    request = product_request(
        spider, "belt", headers={"Referer": "http://127.0.0.1:9/"}, body=b"\x00\xffraw",
        method="POST", priority=3, meta={"retry_times": 2},
    )  # fmt: skip
    data = codec.dumps(request.to_dict(spider=spider))
    again = request_from_dict(codec.loads(data), spider=spider)
    assert (again.url, again.method, again.body, again.priority) == (
        request.url, "POST", b"\x00\xffraw", 3,
    )  # fmt: skip
    assert again.callback == spider.parse_product and again.errback == spider.on_error
    assert again.cb_kwargs == {"store": "shop"} and again.meta["retry_times"] == 2
    assert again.headers[b"Referer"] == b"http://127.0.0.1:9/"


def test_pop_moves_the_request_in_flight_and_ack_removes_it(server, keys, spider) -> None:
    queue = queue_of(server, spider, keys, "w1")
    for path in ("a", "b"):
        request = product_request(spider, path)
        queue.push_unseen(request, fingerprint(server, keys, request))
    popped = queue.pop()
    assert popped is not None and popped.callback == spider.parse_product
    assert server.zcard(keys.queue) == 1
    assert server.zcard(keys.inflight("w1")) == 1
    assert server.sismember(keys.workers, "w1") and server.exists(keys.alive("w1"))
    assert CrawlQueue(server, keys).pending() == 2  # one queued, one in flight
    queue.ack([popped], {"response_received_count": 1})
    assert server.zcard(keys.inflight("w1")) == 0 and not queue.in_flight
    assert CrawlQueue(server, keys).read_stats() == {"response_received_count": 1}
    assert CrawlQueue(server, keys).pending() == 1


def test_a_second_pop_never_returns_a_request_already_in_flight(server, keys, spider) -> None:
    urls = {f"http://127.0.0.1:9/products/p{number}" for number in range(40)}
    first = queue_of(server, spider, keys, "w1")
    for url in urls:
        first.push(scrapy.Request(url, callback=spider.parse_product, cb_kwargs={"store": "s"}))
    first.flush()
    workers = [queue_of(server, spider, keys, f"w{number}") for number in range(4)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(drain, workers))
    everything = [request.url for popped in results for request in popped]
    assert sorted(everything) == sorted(urls)  # each request exactly once
    assert server.zcard(keys.queue) == 0
    assert sum(server.zcard(keys.inflight(queue.worker)) for queue in workers) == len(urls)


def test_expired_heartbeat_requeues_past_the_dupefilter(server, keys, spider) -> None:
    request = product_request(spider, "belt")
    doomed = queue_of(server, spider, keys, "doomed")
    doomed.push_unseen(request, fingerprint(server, keys, request))
    doomed.push_unseen(request, fingerprint(server, keys, request))  # seen: dropped
    assert doomed.pop() is not None
    assert doomed.pop() is None
    crawl = CrawlQueue(server, keys)
    assert crawl.requeue_dead() == 0  # its heartbeat is current: not touched
    server.pexpire(keys.alive("doomed"), 1)  # the worker stopped renewing it
    time.sleep(0.05)
    assert crawl.requeue_dead() == 1
    assert not server.sismember(keys.workers, "doomed")
    assert crawl.read_stats()["backrank/requeued"] == 1
    again = queue_of(server, spider, keys, "survivor").pop()  # not filtered as a duplicate
    assert again is not None and again.url == request.url
    assert server.zcard(keys.inflight("doomed")) == 0


def test_a_leaving_worker_gives_back_its_requests(server, keys, spider) -> None:
    leaving = queue_of(server, spider, keys, "leaving")
    leaving.push(product_request(spider, "a"))
    assert leaving.pop() is not None
    assert CrawlQueue(server, keys).requeue_worker("leaving") == 1
    assert server.zcard(keys.queue) == 1 and not server.sismember(keys.workers, "leaving")


def test_shared_schedule_caps_leases_and_spaces_time_slots(server, keys) -> None:
    schedule = SharedSchedule(server, keys, lease_seconds=30)
    assert schedule.try_acquire("shop.example", "t1", cap=2, delay=0) == 0
    assert schedule.try_acquire("shop.example", "t2", cap=2, delay=0) == 0
    assert schedule.try_acquire("shop.example", "t3", cap=2, delay=0) is None  # at the cap
    assert schedule.try_acquire("other.example", "t4", cap=2, delay=0) == 0  # per domain
    schedule.release("shop.example", "t1")
    assert schedule.try_acquire("shop.example", "t3", cap=2, delay=0) == 0
    waits = []
    for token in ("d1", "d2", "d3"):
        waits.append(schedule.try_acquire("slow.example", token, cap=5, delay=0.2))
    assert waits[0] == 0
    assert waits[1] == pytest.approx(0.2, abs=0.03) and waits[2] == pytest.approx(0.4, abs=0.03)


def test_an_expired_lease_frees_its_place(server, keys) -> None:
    schedule = SharedSchedule(server, keys, lease_seconds=0.05)  # a worker killed mid-request
    assert schedule.try_acquire("shop.example", "dead", cap=1, delay=0) == 0
    assert schedule.try_acquire("shop.example", "next", cap=1, delay=0) is None
    time.sleep(0.1)
    assert schedule.try_acquire("shop.example", "next", cap=1, delay=0) == 0


def test_pushes_wait_for_the_next_pop_and_go_with_it(server, keys, spider) -> None:
    queue = queue_of(server, spider, keys, "w1")
    outcomes: list[tuple[list[str], list[str]]] = []
    queue.on_flushed = lambda queued, seen: outcomes.append(
        ([r.url for r in queued], [r.url for r in seen])
    )
    seen_before = product_request(spider, "old")
    server.sadd(keys.dupefilter, fingerprint(server, keys, seen_before))
    urgent = product_request(spider, "urgent", priority=5)
    for request in (
        product_request(spider, "a"),
        urgent,
        seen_before,
        product_request(spider, "a"),
    ):
        queue.push_unseen(request, fingerprint(server, keys, request))
    assert server.zcard(keys.queue) == 0  # nothing sent yet
    popped = queue.pop()
    assert popped is not None and popped.url == urgent.url  # pushed, then popped by priority
    assert server.zcard(keys.queue) == 1 and server.zcard(keys.inflight("w1")) == 1
    base = "http://127.0.0.1:9/products/"
    assert outcomes == [([base + "a", base + "urgent"], [base + "old", base + "a"])]


def test_ack_sends_the_follow_ups_before_forgetting_their_request(server, keys, spider) -> None:
    queue = queue_of(server, spider, keys, "w1")
    queue.push(product_request(spider, "listing"))
    parent = queue.pop()
    assert parent is not None
    for path in ("x", "y"):
        follow_up = product_request(spider, path)
        queue.push_unseen(follow_up, fingerprint(server, keys, follow_up))
    queue.ack([parent], {})
    assert server.zcard(keys.inflight("w1")) == 0
    assert {request.url for request in drain(queue_of(server, spider, keys, "w2"))} == {
        "http://127.0.0.1:9/products/x", "http://127.0.0.1:9/products/y",
    }  # fmt: skip


def test_a_worker_killed_with_unsent_pushes_loses_nothing(server, keys, spider) -> None:
    doomed = queue_of(server, spider, keys, "doomed")
    doomed.push(product_request(spider, "listing"))
    assert doomed.pop() is not None
    follow_up = product_request(spider, "x")
    doomed.push_unseen(follow_up, fingerprint(server, keys, follow_up))  # then killed: never sent
    server.delete(keys.alive("doomed"))
    assert CrawlQueue(server, keys).requeue_dead() == 1  # its request comes back ...
    survivor = queue_of(server, spider, keys, "survivor")
    again = survivor.pop()
    assert again is not None and again.url.endswith("/listing")
    survivor.push_unseen(follow_up, fingerprint(server, keys, follow_up))  # ... parsed again
    assert [request.url for request in drain(survivor)] == [follow_up.url]  # not marked seen


def test_a_full_buffer_is_sent_without_waiting_for_a_pop(server, keys, spider) -> None:
    queue = queue_of(server, spider, keys, "w1")
    for number in range(MAX_UNSENT):
        request = product_request(spider, f"p{number}")
        queue.push_unseen(request, fingerprint(server, keys, request))
    assert server.zcard(keys.queue) == MAX_UNSENT and not queue.unsent
    assert server.scard(keys.dupefilter) == MAX_UNSENT
    assert len(queue) == MAX_UNSENT


def drain(queue: ReliableQueue) -> list[scrapy.Request]:
    popped = []
    while (request := queue.pop()) is not None:
        popped.append(request)
    return popped


def test_the_scheduler_counts_queued_and_seen_requests_when_they_are_sent(
    server, keys, spider
) -> None:
    from scrapy.utils.test import get_crawler

    from spiders.redis_queue import ReliableScheduler

    crawler = get_crawler(
        settings_dict={
            "REDIS_URL": redis_url_or_skip(),
            "SCHEDULER_QUEUE_KEY": keys.queue,
            "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "BACKRANK_WORKER_ID": "w1",
        }
    )
    crawler._apply_settings()
    spider.crawler, spider.settings = crawler, crawler.settings
    scheduler = ReliableScheduler.from_crawler(crawler)
    scheduler.open(spider)
    for path in ("a", "b", "a"):
        assert scheduler.enqueue_request(product_request(spider, path))
    scheduler.enqueue_request(product_request(spider, "a", dont_filter=True))
    assert scheduler.has_pending_requests()  # sends the buffer, then looks
    assert crawler.stats.get_value("scheduler/enqueued/redis") == 3
    assert crawler.stats.get_value("dupefilter/filtered") == 1
    assert server.zcard(keys.queue) == 3


@pytest.mark.parametrize(
    ("delay", "domain_concurrency", "total_concurrency", "shared"),
    [
        (0, 16, 16, False),  # polite = false: nothing to share, no Redis round trip
        (1.0, 16, 16, True),  # a delay between requests
        (0, 2, 8, True),  # a per-domain cap below the worker's concurrency
        (0, 16, 0, True),  # no total limit: the per-domain cap is one
    ],
)
def test_the_shared_schedule_is_asked_only_when_the_slot_is_polite(
    keys, delay: float, domain_concurrency: int, total_concurrency: int, shared: bool
) -> None:
    from scrapy.core.downloader import Slot
    from scrapy.utils.test import get_crawler

    from spiders.redis_politeness import SharedPolitenessDownloader

    crawler = get_crawler(
        settings_dict={
            "REDIS_URL": redis_url_or_skip(),
            "BACKRANK_CRAWL_ID": keys.crawl_id,
            "CONCURRENT_REQUESTS": total_concurrency,
        }
    )
    crawler._apply_settings()
    downloader = SharedPolitenessDownloader(crawler)
    assert downloader.needs_schedule(Slot(domain_concurrency, delay, jitter=0)) is shared


def run_at_once(coroutine) -> None:
    """Run a coroutine that never waits to its end (the tick's close, without a reactor)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise AssertionError("the coroutine waited")


@pytest.mark.parametrize(("queued", "reason"), [(0, "finished"), (1, "coordinator_gone")])
def test_a_worker_that_finds_the_coordinator_gone_is_finished_only_when_nothing_is_left(
    server, keys, spider, monkeypatch, queued: int, reason: str
) -> None:
    """The coordinator removes a drained crawl's keys when it closes the run; a worker whose
    tick sees that before its next idle check has finished, not been abandoned (a late remote
    worker once exited 2 so). With requests left, the coordinator died: the worker leaves."""
    from scrapy.utils.test import get_crawler

    from spiders import redis_worker

    settings = {"BACKRANK_CRAWL_ID": keys.crawl_id, "BACKRANK_WORKER_ID": "w1",
                "REDIS_URL": redis_url_or_skip()}  # fmt: skip
    crawler = get_crawler(settings_dict=settings)
    closed: list[str] = []

    class Engine:
        async def close_spider_async(self, *, reason: str) -> None:
            closed.append(reason)

    class Loop:
        def stop(self) -> None:
            pass

    crawler.engine = Engine()
    monkeypatch.setattr(redis_worker, "deferred_from_coro", run_at_once)
    worker = redis_worker.DistributedWorker(crawler)
    worker.loop = Loop()
    worker.ticks = redis_worker.REQUEUE_EVERY - 1  # the next tick looks for the coordinator
    queue = queue_of(server, spider, keys, "w2")
    for path in ("a", "b")[:queued]:
        request = product_request(spider, path)
        queue.push_unseen(request, fingerprint(server, keys, request))
    queue.flush()
    assert CrawlQueue(server, keys).pending() == queued
    worker.tick()
    assert closed == [reason]
    server.delete(keys.alive("w1"))
