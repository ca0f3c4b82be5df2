"""Each fault profile of the demo marketplace, crawled over real HTTP, is handled as issue 5 says."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from backrank.core.store import Store
from backrank.marketplace import Marketplace
from backrank.marketplace.faults import FaultPlan
from spiders.crawl import CrawlResult, run_crawl_subprocess

SCALE = 4
SETTINGS = {"DOWNLOAD_TIMEOUT": 1.0}


def start(profile: str, seed: int = 11) -> Marketplace:
    marketplace = Marketplace(seed=seed, scale=SCALE, faults=profile).start()
    marketplace.faults.slow_seconds = 2.0  # past the tests' 1 s DOWNLOAD_TIMEOUT
    return marketplace


def crawl(marketplace: Marketplace, tmp_path: Path) -> CrawlResult:
    catalog = tmp_path / "catalog.toml"
    if not catalog.exists():
        text = marketplace.demo_catalog_text().replace(
            "max_review_pages = 50", "max_review_pages = 1"
        )
        catalog.write_text(text, encoding="utf-8")
    return run_crawl_subprocess(catalog, tmp_path / "faults.db", quiet=True, settings=SETTINGS)


def served(marketplace: Marketplace, fault: str) -> list[tuple[str, str]]:
    return [(store, path) for store, path, kind in marketplace.faults_served if kind == fault]


def retries(result: CrawlResult, reason: str) -> int:
    """Retries whose reason starts with `reason` (Scrapy names a 429 "429 Unknown Status")."""
    prefix = f"retry/reason_count/{reason}"
    return sum(count for key, count in result.stats.items() if key.startswith(prefix))


def offers(tmp_path: Path):
    with Store.open(tmp_path / "faults.db") as store:
        return store.read_offers(latest=True)


def per_store(frame) -> dict[str, int]:
    return dict(Counter(frame["store"].str.removeprefix("demo-")))


def truth_per_store(marketplace: Marketplace) -> dict[str, int]:
    return dict(Counter(listing["store"] for listing in marketplace.truth()["listings"]))


@pytest.fixture
def market(request):
    marketplace = start(request.param)
    yield marketplace
    marketplace.stop()


def test_fault_plan_is_deterministic_by_seed_path_and_attempt() -> None:
    one, same, other = FaultPlan(3, "full"), FaultPlan(3, "full"), FaultPlan(4, "full")
    paths = [f"/products/p{i}" for i in range(400)]
    decisions = [one.transport_fault("shopify", p, 0) for p in paths]
    assert decisions == [same.transport_fault("shopify", p, 0) for p in paths]
    assert decisions != [other.transport_fault("shopify", p, 0) for p in paths]
    assert {"throttle", "unavailable"} <= set(decisions)
    # 429 only on a first attempt, and a 503 burst never outlasts Scrapy's 3 retries
    assert all(one.transport_fault("shopify", p, 3) is None for p in paths)
    with pytest.raises(ValueError, match="unknown fault profile"):
        FaultPlan(1, "meteor")


@pytest.mark.parametrize("market", ["throttle"], indirect=True)
def test_429_waits_retry_after_then_stores_everything(market: Marketplace, tmp_path: Path) -> None:
    result = crawl(market, tmp_path)
    throttled = served(market, "throttle")
    assert throttled, "the profile should have throttled some requests"
    assert retries(result, "429") == len(throttled)
    assert result.stats["backrank/retry_after/waits"] == len(throttled)
    assert result.stats["backrank/retry_after/seconds"] == pytest.approx(len(throttled) * 1.0)
    assert per_store(offers(tmp_path)) == truth_per_store(market)
    assert result.errors == 0


@pytest.mark.parametrize("market", ["unavailable"], indirect=True)
def test_503_bursts_are_retried_until_the_page_comes(market: Marketplace, tmp_path: Path) -> None:
    result = crawl(market, tmp_path)
    bursts = served(market, "unavailable")
    assert len(bursts) > len(set(bursts)), "some paths should answer 503 twice in a row"
    assert retries(result, "503") == len(bursts)
    assert per_store(offers(tmp_path)) == truth_per_store(market)
    assert result.errors == 0


@pytest.mark.parametrize("market", ["slow"], indirect=True)
def test_slow_pages_time_out_and_are_retried(market: Marketplace, tmp_path: Path) -> None:
    result = crawl(market, tmp_path)
    slow = served(market, "slow")
    assert slow
    timeouts = sum(
        c for k, c in result.stats.items() if k.startswith("retry/reason_count/") and "Timeout" in k
    )
    assert timeouts == len(slow), {k: v for k, v in result.stats.items() if k.startswith("retry/")}
    assert per_store(offers(tmp_path)) == truth_per_store(market)


@pytest.mark.parametrize("market", ["truncated"], indirect=True)
def test_truncated_html_is_detected_and_retried(market: Marketplace, tmp_path: Path) -> None:
    result = crawl(market, tmp_path)
    cut = served(market, "truncated")
    assert cut
    # both kinds: a Content-Length that lies (data loss) and an honest one without </html>
    assert result.stats["backrank/truncated"] == len(cut)
    assert retries(result, "truncated_html") >= 1
    assert per_store(offers(tmp_path)) == truth_per_store(market)


@pytest.mark.parametrize("market", ["captcha"], indirect=True)
def test_robot_check_pages_are_counted_blocked_never_parsed(
    market: Marketplace, tmp_path: Path
) -> None:
    result = crawl(market, tmp_path)
    captchas = served(market, "captcha")
    assert captchas
    assert result.blocked == len(captchas) and result.status == "warnings"
    stored = offers(tmp_path)
    assert not stored["title"].str.contains("characters you see|Amazon.com$", regex=True).any()
    assert per_store(stored) == truth_per_store(market)  # the retry got the real page


@pytest.mark.parametrize("market", ["redirect_loop"], indirect=True)
def test_redirect_loops_give_up_counted_and_recover_next_refresh(
    market: Marketplace, tmp_path: Path
) -> None:
    first = crawl(market, tmp_path)
    loops = [path for _, path in served(market, "redirect_loop") if "loop=" not in path]
    assert loops
    assert first.stats["backrank/errors/redirect_loop"] == len(loops)
    assert first.status == "warnings"
    second = crawl(market, tmp_path)
    assert "backrank/errors/redirect_loop" not in second.stats
    assert per_store(offers(tmp_path)) == truth_per_store(market)


@pytest.mark.parametrize("market", ["huge"], indirect=True)
def test_a_20_mb_page_is_cancelled_and_counted(market: Marketplace, tmp_path: Path) -> None:
    first = crawl(market, tmp_path)
    huge = served(market, "huge")
    assert huge
    assert first.stats["backrank/errors/too_big"] == len(huge)
    crawl(market, tmp_path)
    assert per_store(offers(tmp_path)) == truth_per_store(market)


@pytest.mark.parametrize("market", ["bad_encoding"], indirect=True)
def test_windows_1252_declared_utf8_is_decoded(market: Marketplace, tmp_path: Path) -> None:
    crawl(market, tmp_path)
    assert served(market, "bad_encoding")
    titles = offers(tmp_path)["title"]
    assert titles.str.contains("\u00ae").any(), "a windows-1252 (R) mark should read as \u00ae"
    assert not titles.str.contains("\ufffd|\u00c2\u00ae", regex=True).any(), list(titles)


@pytest.mark.parametrize("market", ["redesign"], indirect=True)
def test_a_redesigned_store_is_flagged_drifted_and_keeps_its_last_good_prices(
    market: Marketplace, tmp_path: Path
) -> None:
    crawl(market, tmp_path)
    before = offers(tmp_path)
    market.next_day()
    redesigned = "demo-" + market.redesigned
    result = crawl(market, tmp_path)
    assert result.drifted == [redesigned] and result.status == "warnings"
    after = offers(tmp_path)
    mine = lambda frame: frame[frame["store"] == redesigned].set_index("url")["price"].to_dict()
    assert mine(after) == mine(before) and any(p is not None for p in mine(after).values())
    assert (after.loc[after["store"] == redesigned, "run_id"] < result.run_id).all()
    report = json.loads(Path(result.report_json).read_text(encoding="utf-8"))
    drifted = [store for store in report["stores"] if store["drifted"]]
    assert [store["store"] for store in drifted] == [redesigned]
    assert drifted[0]["with_price"] == 0 and drifted[0]["listings_stored"] > 0


@pytest.mark.parametrize("market", ["delisted"], indirect=True)
def test_delisted_listings_are_marked_gone_after_two_misses_not_deleted(
    market: Marketplace, tmp_path: Path
) -> None:
    crawl(market, tmp_path)
    market.next_day()
    delisted = market.delisted_urls()
    assert delisted
    crawl(market, tmp_path)
    once = offers(tmp_path)
    assert not once["gone"].any(), "one miss is not enough to call a listing gone"
    third = crawl(market, tmp_path)
    stored = offers(tmp_path)
    assert len(stored) == len(once), "gone listings are kept, not deleted"
    gone = stored[stored["gone"]]
    assert len(gone) == len(delisted)
    assert not stored[~stored["gone"]].empty
    report = json.loads(Path(third.report_json).read_text(encoding="utf-8"))
    assert sum(store["gone_new"] for store in report["stores"]) == len(delisted)
