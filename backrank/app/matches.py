"""`backrank matches review`: the owner answers the pairs the matcher is least sure of.

Each pair is shown side by side (title, store, price, identifiers, image link); the owner
answers y / n / skip / quit. Answers go into matches.toml beside the catalog as ``[[same]]``
and ``[[different]]`` entries (which override the matcher), the weights are refitted on every
answer there plus the pairs identifiers decide, and the refit lands in matches.toml's own
``[weights]`` table, which ``backrank score`` applies over the catalog's [scoring.matching].
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from backrank.core.config import Catalog
from backrank.core.settings import MatchConfig
from backrank.core.store import Store
from pipelines.matching import MatchOverrides, load_overrides, match_listings
from pipelines.matching_fit import (
    WEIGHT_NAMES,
    answered_pairs,
    least_sure,
    refit_on_answers,
    store_candidates,
)
from pipelines.rescore import OVERRIDES_FILE, live_offers

LISTING_COLUMNS = (
    "listing_id", "store", "url", "canonical_url", "title", "brand", "price", "currency",
    "gtin", "mpn", "sku", "asin", "image_url",
)  # fmt: skip
IDENTIFIERS = ("gtin", "mpn", "sku", "asin")
ANSWERS = {"y": "same", "yes": "same", "n": "different", "no": "different", "s": "skip",
           "skip": "skip", "q": "quit", "quit": "quit"}  # fmt: skip
WEIGHTS_HEADER = "# refitted by `backrank matches review` on the answers above; delete to undo"
# control characters (an escape sequence in a store's title must not drive the terminal)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WIDTH = 44


@dataclass(frozen=True)
class ReviewOutcome:
    """What a review session did."""

    asked: int
    same: int
    different: int
    skipped: int
    products_changed: int
    path: Path


def review_matches(
    catalog: Catalog,
    db_path: Path | str,
    *,
    questions: int,
    answers: IO[str],
    out: IO[str],
) -> ReviewOutcome:
    """Ask up to ``questions`` least-sure pairs, record the answers, refit, report the change."""
    path = Path(catalog.path).parent / OVERRIDES_FILE
    before = load_overrides(path) if path.is_file() else MatchOverrides()
    shipped = catalog.scoring.matching
    with Store.open(db_path) as store:
        listings = store_listings(store)
    if len(listings) < 2:
        print("fewer than two listings in the store: nothing to review", file=out)
        return ReviewOutcome(0, 0, 0, 0, 0, path)

    known = answered_pairs(listings, before)
    candidates = store_candidates(listings, before.apply(shipped), extra_pairs=list(known))
    open_signals = candidates.signals.copy()
    # pairs already answered in matches.toml are not asked again
    answered_rows = [k for k, (a, b) in enumerate(candidates.pairs) if (int(a), int(b)) in known]
    open_signals.loc[open_signals.index[answered_rows], "identifier"] = True
    chosen = least_sure(open_signals, before.apply(shipped), questions)
    if not len(chosen):
        print("no open pairs across stores to ask about: matches.toml unchanged", file=out)
        return ReviewOutcome(0, 0, 0, 0, 0, path)

    given: dict[tuple[int, int], bool] = {}
    skipped = 0
    for number, row in enumerate(chosen, 1):
        a, b = (int(p) for p in candidates.pairs[row])
        print(_side_by_side(listings, a, b, number, len(chosen), candidates.scores[row]), file=out)
        answer = _ask(answers, out)
        if answer == "quit":
            break
        if answer == "skip":
            skipped += 1
            continue
        given[(a, b)] = answer == "same"

    if not given:
        print("no answers: matches.toml unchanged", file=out)
        return ReviewOutcome(len(given) + skipped, 0, 0, skipped, 0, path)
    refitted = refit_on_answers(candidates, {**known, **given}, shipped)
    _write_matches(path, listings, given, refitted)
    after = load_overrides(path)  # read back: what `backrank score` will use
    changed = products_changed(
        match_listings(listings, config=shipped, overrides=before),
        match_listings(listings, config=shipped, overrides=after),
    )
    same = sum(given.values())
    print(
        f"{same} same, {len(given) - same} different, {skipped} skipped -> {path}; "
        f"weights refitted; {changed} product{'s' if changed != 1 else ''} changed "
        "(run `backrank score` to update the site)",
        file=out,
    )
    return ReviewOutcome(len(given) + skipped, same, len(given) - same, skipped, changed, path)


def store_listings(store: Store) -> pd.DataFrame:
    """The live listings' latest offers, with the columns a matcher and a reviewer need."""
    offers = live_offers(store.read_offers(latest=True))
    for column in LISTING_COLUMNS:
        if column not in offers.columns:
            offers[column] = None
    return offers[list(LISTING_COLUMNS)].reset_index(drop=True)


def products_changed(before: pd.DataFrame, after: pd.DataFrame) -> int:
    """How many products (groups of listings) are new or have different listings after."""

    def groups(membership: pd.DataFrame) -> set[frozenset]:
        return {
            frozenset(members)
            for members in membership.groupby("product_id")["listing_id"].agg(list)
        }

    return len(groups(after) - groups(before))


def listing_name(listing: pd.Series) -> str:
    """How matches.toml names a listing: its canonical URL, else its URL, else its id."""
    for column in ("canonical_url", "url"):
        value = listing.get(column)
        if isinstance(value, str) and value:
            return value
    return str(listing["listing_id"])


def _ask(answers: IO[str], out: IO[str]) -> str:
    while True:
        print("same product? [y]es / [n]o / [s]kip / [q]uit: ", end="", file=out, flush=True)
        line = answers.readline()
        if not line:  # end of input: stop as if the owner quit
            print(file=out)
            return "quit"
        answer = ANSWERS.get(line.strip().lower())
        if answer:
            return answer
        print(f"  {_plain(line.strip())!r}: answer y, n, s or q", file=out)


def _plain(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return _CONTROL.sub(" ", str(value)).strip() or "-"


def _side_by_side(
    listings: pd.DataFrame, a: int, b: int, number: int, total: int, score: float
) -> str:
    left, right = listings.iloc[a], listings.iloc[b]

    def price(row: pd.Series) -> str:
        if _plain(row["price"]) == "-":
            return "-"
        currency = _plain(row["currency"])
        return f"{_plain(row['price'])} {currency if currency != '-' else ''}".strip()

    def ids(row: pd.Series) -> str:
        found = [f"{name.upper()} {_plain(row[name])}" for name in IDENTIFIERS]
        return ", ".join(f for f in found if not f.endswith(" -")) or "-"

    rows = [
        ("title", _plain(left["title"]), _plain(right["title"])),
        ("store", _plain(left["store"]), _plain(right["store"])),
        ("price", price(left), price(right)),
        ("ids", ids(left), ids(right)),
        ("image", _plain(left["image_url"]), _plain(right["image_url"])),
        ("link", listing_name(left), listing_name(right)),
    ]
    lines = [f"\n[{number}/{total}] the matcher says {score:.2f} that these are one product"]
    for label, first, second in rows:
        wrapped_a, wrapped_b = _wrap(first), _wrap(second)
        for k in range(max(len(wrapped_a), len(wrapped_b))):
            cell_a = wrapped_a[k] if k < len(wrapped_a) else ""
            cell_b = wrapped_b[k] if k < len(wrapped_b) else ""
            lines.append(f"  {label if k == 0 else '':6} {cell_a:{_WIDTH}} | {cell_b}")
    return "\n".join(lines)


def _wrap(text: str) -> list[str]:
    return [text[i : i + _WIDTH] for i in range(0, len(text), _WIDTH)] or [""]


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'


def _write_matches(
    path: Path,
    listings: pd.DataFrame,
    given: dict[tuple[int, int], bool],
    refitted: MatchConfig,
) -> None:
    """Append the answers to matches.toml and replace its [weights] table, atomically; the
    owner's own lines and comments stay as they were."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    kept = _without_weights(text.splitlines())
    entries = []
    for (a, b), same in given.items():
        names = ", ".join(_toml_string(listing_name(listings.iloc[p])) for p in (a, b))
        entries += ["", f"[[{'same' if same else 'different'}]]", f"listings = [{names}]"]
    weights = ["", WEIGHTS_HEADER, "[weights]"]
    weights += [f"{name} = {getattr(refitted, name)!r}" for name in WEIGHT_NAMES]
    _write_atomically(path, "\n".join([*kept, *entries, *weights]).lstrip("\n") + "\n")


def _without_weights(lines: Iterable[str]) -> list[str]:
    """The lines of matches.toml without its [weights] table (and the comment heading it)."""
    kept: list[str] = []
    inside = False
    for line in lines:
        header = line.strip()
        if header.startswith("["):
            inside = header.replace(" ", "") == "[weights]"
            if inside and kept and kept[-1] == WEIGHTS_HEADER:
                kept.pop()
        if not inside:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return kept


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".matches-", suffix=".toml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        load_overrides(temporary)  # never leave a matches.toml that `score` cannot read
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
