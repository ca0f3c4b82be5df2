"""What scoring writes and reads back: scored products and their snapshots, the run's scoring
figures, and the per-review and per-product caches a refresh reuses."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from backrank.core.frames import (
    INT,
    PRODUCT_INPUTS,
    PRODUCT_LISTINGS,
    PRODUCTS,
    REVIEW_SCORES,
    SENTENCES,
    SNAPSHOTS,
)
from backrank.core.store.engine import LOOKUP_CHUNK, StoreEngine, numbered, placeholders, upsert
from backrank.core.store.values import (
    decimal_text,
    float_or_none,
    int_or_none,
    json_default,
    now_text,
    plain,
    typed,
)

# The scored products' columns the products table holds as its own; the rest go to extra_json.
STORED_PRODUCT_COLUMNS = PRODUCTS.pick(
    "product_id", "name", "brand", "category", "listings", "best_price", "best_store",
    "rating", "adjusted_rating", "review_count", "rank",
)  # fmt: skip

# sentence cache rows handed to the database at once (a batch of tuples is about 35 MB)
SENTENCE_BATCH = 200_000


def _snapshot_row(run_id: int, record: Mapping[str, Any]) -> dict[str, Any]:
    """A product_snapshots row from a scored product (``subcategory`` falls back to category)."""
    subcategory = plain(record.get("subcategory"))
    in_stock = plain(record.get("in_stock"))
    return {
        "run_id": run_id,
        "product_id": str(plain(record["product_id"])),
        "name": plain(record.get("name")),
        "subcategory": subcategory if subcategory is not None else plain(record.get("category")),
        "rank": int_or_none(plain(record.get("rank"))),
        "composite_score": float_or_none(plain(record.get("composite_score"))),
        "best_price": decimal_text(plain(record.get("best_price"))),
        "currency": plain(record.get("currency")),
        "in_stock": None if in_stock is None else int(bool(in_stock)),
    }


class ScoringCaches(StoreEngine):
    """Scored products, scoring figures and the caches that let a refresh score only what changed."""

    # --- scored products ------------------------------------------------------------------

    def save_products(
        self, run_id: int | None, products: pd.DataFrame, product_listings: pd.DataFrame
    ) -> None:
        """Replace the scored products and their listing links; extra columns go to extra_json.

        With a ``run_id`` each product is also appended to ``product_snapshots`` for that run.
        """
        extra_columns = [c for c in products.columns if c not in STORED_PRODUCT_COLUMNS]
        rows = []
        for record in products.to_dict("records"):
            row = {c: plain(record.get(c)) for c in STORED_PRODUCT_COLUMNS}
            row["best_price"] = decimal_text(row["best_price"])
            extras = {c: plain(record[c]) for c in extra_columns}
            row["extra_json"] = json.dumps(extras, default=str, sort_keys=True) if extras else None
            row["run_id"] = run_id
            rows.append(row)
        links = [
            {"product_id": str(plain(p)), "listing_id": int(plain(lid))}
            for p, lid in zip(
                product_listings["product_id"], product_listings["listing_id"], strict=True
            )
        ]
        columns = [*STORED_PRODUCT_COLUMNS, "run_id", "extra_json"]
        # Without a run there is nothing to file a snapshot under; products still replace.
        snapshots = (
            []
            if run_id is None
            else [_snapshot_row(run_id, r) for r in products.to_dict("records")]
        )

        def work(conn: Connection) -> None:
            if run_id is not None:
                # Scoring a run again replaces that run's snapshot, never adds to it.
                self._execute(
                    conn, "DELETE FROM product_snapshots WHERE run_id = :run_id", {"run_id": run_id}
                )
                if snapshots:
                    self._execute(
                        conn,
                        f"INSERT INTO product_snapshots ({', '.join(SNAPSHOTS.columns)})"
                        f" VALUES ({', '.join(f':{c}' for c in SNAPSHOTS.columns)})",
                        snapshots,
                    )
            self._execute(conn, "DELETE FROM product_listings")
            self._execute(conn, "DELETE FROM products")
            if rows:
                self._execute(
                    conn,
                    f"INSERT INTO products ({', '.join(columns)})"
                    f" VALUES ({', '.join(f':{c}' for c in columns)})",
                    rows,
                )
            if links:
                self._execute(
                    conn,
                    "INSERT INTO product_listings (product_id, listing_id)"
                    " VALUES (:product_id, :listing_id) ON CONFLICT DO NOTHING",
                    links,
                )

        self._transact(work)

    def read_products(self) -> pd.DataFrame:
        """The scored products, best rank first, with their extra columns unpacked."""
        frame = self._frame(
            f"SELECT {', '.join(STORED_PRODUCT_COLUMNS)}, run_id, extra_json FROM products"
            f" ORDER BY rank IS NULL, rank, product_id{self._binary}"
        )
        frame = typed(frame, {**PRODUCTS.dtypes, "run_id": INT})
        extras = [json.loads(e) if e else {} for e in frame.pop("extra_json")]
        names = list(dict.fromkeys(k for e in extras for k in e))
        for name in names:
            frame[name] = pd.Series([e.get(name) for e in extras], index=frame.index, dtype=object)
        return frame

    def read_product_listings(self) -> pd.DataFrame:
        """Which listings each product groups."""
        frame = self._frame(
            f"SELECT {', '.join(PRODUCT_LISTINGS.columns)} FROM product_listings"
            f" ORDER BY product_id{self._binary}, listing_id"
        )
        return typed(frame, PRODUCT_LISTINGS.dtypes)

    def read_product_snapshots(self) -> pd.DataFrame:
        """Every run's ranked products (SNAPSHOTS), oldest run first, then by rank."""
        frame = self._frame(
            f"SELECT {', '.join(SNAPSHOTS.columns)} FROM product_snapshots"
            f" ORDER BY run_id, subcategory{self._binary}, rank IS NULL, rank,"
            f" product_id{self._binary}"
        )
        return typed(frame, SNAPSHOTS.dtypes)

    # --- run-level scoring figures --------------------------------------------------------

    def save_scoring_summary(self, run_id: int, summary: Mapping[str, Any]) -> None:
        """Store a run's scoring figures (weights, thresholds, sensitivity); replaces that run's."""
        summary_json = json.dumps(dict(summary), default=json_default, sort_keys=True)
        params = {"run_id": run_id, "summary": summary_json, "saved": now_text()}
        self._transact(
            lambda conn: self._execute(
                conn,
                "INSERT INTO scoring_summaries (run_id, summary_json, saved_at)"
                " VALUES (:run_id, :summary, :saved) ON CONFLICT (run_id) DO UPDATE SET"
                " summary_json = excluded.summary_json, saved_at = excluded.saved_at",
                params,
            )
        )

    def read_scoring_summary(self) -> dict[str, Any] | None:
        """The latest run's scoring figures, or None when no run was scored."""
        row = self._one("SELECT summary_json FROM scoring_summaries ORDER BY run_id DESC LIMIT 1")
        return None if row is None else json.loads(row[0])

    # --- per-review trust scores ----------------------------------------------------------

    def save_review_scores(self, run_id: int | None, scores: pd.DataFrame) -> int:
        """Upsert each review's ``suspicion``, ``flags`` and ``kept`` (keyed by store, review_id)."""
        missing = scores["store"].isna() | scores["review_id"].isna()
        if missing.any():
            raise ValueError(
                f"review scores need a store and a review_id; {int(missing.sum())} rows lack one,"
                f" first at index {scores.index[missing.to_numpy()][0]!r}"
            )
        run = int_or_none(plain(run_id))
        rows = [
            (
                str(store),
                str(review_id),
                None if plain(product_id) is None else str(plain(product_id)),
                float_or_none(plain(suspicion)),
                plain(flags),
                None if plain(kept) is None else int(bool(kept)),
                run,
            )
            for store, review_id, product_id, suspicion, flags, kept in zip(
                scores["store"], scores["review_id"], scores["product_id"], scores["suspicion"],
                scores["flags"], scores["kept"], strict=True,
            )
        ]  # fmt: skip
        columns = REVIEW_SCORES.columns
        if rows:
            self._transact(
                lambda conn: upsert(conn, "review_scores", columns, ("store", "review_id"), rows)
            )
        return len(rows)

    def read_review_scores(self) -> pd.DataFrame:
        """The scored reviews (REVIEW_SCORES), by store and review id."""
        frame = self._frame(
            f"SELECT {', '.join(REVIEW_SCORES.columns)}"
            f" FROM review_scores ORDER BY store{self._binary}, review_id{self._binary}"
        )
        return typed(frame, REVIEW_SCORES.dtypes)

    # --- per-sentence sentiment cache -----------------------------------------------------

    def save_review_sentences(self, sentences: pd.DataFrame, version: str) -> int:
        """Cache sentence rows (``review_key`` = content hash, ``sentence_index``, ``sentence``,
        ``compound``) computed by sentiment scorer ``version``."""
        columns = list(SENTENCES.columns)
        missing = sentences[columns].isna().any(axis=1)
        if missing.any():
            raise ValueError(
                f"sentence rows need {', '.join(columns)}; {int(missing.sum())} rows lack one,"
                f" first at index {sentences.index[missing.to_numpy()][0]!r}"
            )
        stored = ("content_hash", "version", "sentence_index", "sentence", "compound")
        keys = ("content_hash", "version", "sentence_index")

        def write(conn: Connection) -> None:
            # Positional tuples straight to the driver, a batch at a time: this cache takes a
            # row per sentence, and a million reviews' 3.5 million tuples would take 0.6 GB.
            for start in range(0, len(sentences), SENTENCE_BATCH):
                batch = sentences.iloc[start : start + SENTENCE_BATCH]
                rows = list(
                    zip(
                        batch["review_key"].astype(str),
                        itertools.repeat(version),
                        batch["sentence_index"].astype("int64").tolist(),
                        batch["sentence"].astype(str),
                        batch["compound"].astype(float).tolist(),
                        strict=False,
                    )
                )
                upsert(conn, "review_sentences", stored, keys, rows)

        if len(sentences):
            self._transact(write)
        return len(sentences)

    def read_review_sentences(
        self, version: str, hashes: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Cached sentence rows of scorer ``version`` (``review_key, sentence_index, sentence,
        compound``); only reviews with content hash in ``hashes`` when given."""
        select = (
            "SELECT content_hash AS review_key, sentence_index, sentence, compound"
            " FROM review_sentences WHERE version = :version"
        )
        if hashes is None:
            rows = self._rows(select, {"version": version})
        else:
            wanted = list(dict.fromkeys(hashes))
            rows = []
            for start in range(0, len(wanted), LOOKUP_CHUNK):
                chunk = wanted[start : start + LOOKUP_CHUNK]
                rows += self._rows(
                    select + f" AND content_hash IN ({placeholders(len(chunk))})",
                    {"version": version, **numbered(chunk)},
                )
        keys, indexes, texts, compounds = (
            (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [])
        )
        cells = dict(zip(SENTENCES.columns, (keys, indexes, texts, compounds), strict=True))
        return pd.DataFrame(
            {c: pd.Series(v, dtype=SENTENCES.pandas_dtype(c)) for c, v in cells.items()}
        )

    # --- per-product scoring inputs and results --------------------------------------------

    def save_product_inputs(self, run_id: int | None, inputs: pd.DataFrame) -> int:
        """Replace every product's input ``fingerprint`` and per-product ``results`` (a dict)."""
        rows = []
        for product_id, fingerprint, results in zip(
            inputs["product_id"], inputs["fingerprint"], inputs["results"], strict=True
        ):
            if not isinstance(results, Mapping):
                raise TypeError(f"results of product {product_id} must be a dict, got {results!r}")
            results_json = json.dumps(dict(results), default=json_default, sort_keys=True)
            rows.append(
                {
                    "product_id": str(product_id),
                    "fingerprint": str(fingerprint),
                    "results": results_json,
                    "run_id": run_id,
                }
            )

        def work(conn: Connection) -> None:
            self._execute(conn, "DELETE FROM product_inputs")
            if rows:
                self._execute(
                    conn,
                    "INSERT INTO product_inputs (product_id, fingerprint, results_json, run_id)"
                    " VALUES (:product_id, :fingerprint, :results, :run_id)",
                    rows,
                )

        self._transact(work)
        return len(rows)

    def read_product_inputs(self) -> pd.DataFrame:
        """``product_id, fingerprint, results`` (dict) of the last scoring, by product id."""
        frame = self._frame(
            "SELECT product_id, fingerprint, results_json, run_id FROM product_inputs"
            f" ORDER BY product_id{self._binary}"
        )
        results = [json.loads(text) for text in frame.pop("results_json")]
        frame.insert(2, "results", pd.Series(results, index=frame.index, dtype=object))
        return typed(frame, PRODUCT_INPUTS.dtypes)
