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
from spiders.redis_queue import CrawlKeys, CrawlQueue, ReliableQueue, RequestCodec, dupefilter

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
        assert queue.push_unseen(request, fingerprint(server, keys, request))
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
    workers = [queue_of(server, spider, keys, f"w{number}") for number in range(4)]

    def drain(queue: ReliableQueue) -> list[str]:
        popped = []
        while (request := queue.pop()) is not None:
            popped.append(request.url)
        return popped

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(drain, workers))
    everything = [url for popped in results for url in popped]
    assert sorted(everything) == sorted(urls)  # each request exactly once
    assert server.zcard(keys.queue) == 0
    assert sum(server.zcard(keys.inflight(queue.worker)) for queue in workers) == len(urls)


def test_expired_heartbeat_requeues_past_the_dupefilter(server, keys, spider) -> None:
    request = product_request(spider, "belt")
    doomed = queue_of(server, spider, keys, "doomed")
    assert doomed.push_unseen(request, fingerprint(server, keys, request))
    assert not doomed.push_unseen(request, fingerprint(server, keys, request))  # seen
    assert doomed.pop() is not None
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
