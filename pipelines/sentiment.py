"""Per-sentence VADER sentiment of reviews, computed once per review and cacheable by content hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from multiprocessing import get_context
from typing import Any

import numpy as np
import pandas as pd
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    N_SCALAR,
    NEGATE,
    SentimentIntensityAnalyzer,
    SentiText,
)

from backrank.core.frames import SENTENCES

SENTENCE_COLUMNS = SENTENCES.columns
# Bump when the scorer changes (lexicon, rewrites), so a store can drop stale cached rows.
SENTIMENT_VERSION = "vader-3.3.2+backrank-1"
# Below this many uncached reviews sentiment runs in-process; above, over worker processes.
PARALLEL_SENTIMENT_MIN = 50_000
SENTIMENT_CHUNK = 25_000

# Cached sentence rows, or a look-up called with the review keys wanted (the store's).
SentenceCache = pd.DataFrame | Callable[[list[str]], pd.DataFrame] | None

# Words reviews of back-care equipment use that VADER's general lexicon lacks, on its
# -4..4 valence scale.
DOMAIN_VALENCE = {
    "nightmare": -2.6, "squeak": -1.4, "squeaks": -1.4, "squeaky": -1.4, "squeaking": -1.4,
    "creak": -1.2, "creaks": -1.2, "creaky": -1.2, "creaking": -1.2, "rattles": -1.1,
    "rattling": -1.1, "wobble": -1.5, "wobbles": -1.5, "wobbly": -1.5, "wobbling": -1.5,
    "flimsy": -2.0, "rickety": -2.0, "snapped": -1.5, "sturdy": 1.9, "sturdier": 1.9,
    "durable": 1.6, "refund": -0.5, "cheaply": -1.2,
}  # fmt: skip

_PAIN = r"(?:pains?|aches?|aching|sciatica|stiffness|soreness|tension|spasms?)"
_BODY = r"(?:lower|upper|back|neck|hip|leg|sciatic|nerve|chronic|disc|spinal|joint|shoulder)"
_OWNER = r"(?:my|the|his|her|our|their|all|of|much|a lot of|so much)"
# VADER reads "my back pain is gone" as negative (it sees "pain"); these phrases say the
# product relieved pain, so the scorer reads them as "relief" (the sentence text is kept).
RELIEF_PHRASES = re.compile(
    rf"\b(?:{_BODY}\s+)*{_PAIN}\b(?:\s+(?!not\b|never\b|hardly\b|barely\b)\w+){{0,3}}?\s+"
    r"(?:(?:is|are|was|were|has|have|had)\s+)?(?:been\s+)?"
    rf"(?:completely\s+|totally\s+|almost\s+|mostly\s+)?"
    r"(?:gone|went away|go away|disappeared|vanished|eased|subsided|improved|reduced|decreased)\b"
    rf"|\b(?:no more|less|relieves?|relieved|relieving|eases?|eased|helped|helps|reduces?|reduced"
    rf"|alleviates?|alleviated|cured?|fixed|fixes)(?:\s+{_OWNER})*(?:\s+{_BODY})*\s+{_PAIN}(?:\s+{_PAIN})*\b"
    rf"|\b{_PAIN}[\s-]+free\b",
    re.IGNORECASE,
)

# A sentence ends at . ! ? or an ellipsis (and any closing quote/bracket) followed by space, or
# at a line break. Fixed-width lookbehinds keep common abbreviations ("Dr.", "e.g.") whole;
# a decimal point ("5.5 ft") has no space after it, so it never splits.
_ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "vs.", "e.g.", "i.e.", "approx.", "Jr.")
_NOT_AFTER = "".join(f"(?<!\\b{re.escape(a)})" for a in _ABBREVIATIONS)
SENTENCE_BREAK = re.compile(
    rf"(?:(?<=[.!?\u2026])|(?<=[.!?\u2026][\"')\]])){_NOT_AFTER}\s+|\s*[\r\n]+\s*"
)
_HAS_WORD = re.compile(r"\w")


# every relief phrase names a pain word: sentences without one skip the rewrite
_PAIN_WORD = re.compile(rf"\b{_PAIN}\b", re.IGNORECASE)
_NEGATIONS = frozenset(NEGATE)


class ReviewAnalyzer(SentimentIntensityAnalyzer):
    """VADER (vaderSentiment 3.3.2) with the back-care domain words, giving the very same
    scores with less per-sentence work (tests/test_sentiment.py compares it with the stock
    analyzer):

    - an ASCII sentence skips VADER's character-by-character emoji rewrite, which copies
      such a sentence unchanged (every emoji in its table is non-ASCII);
    - a word outside the lexicon scores 0 without the call that would find just that;
    - the negation check lower-cases only the up to three words it looks at, not the whole
      sentence again for every sentiment word, and tests a word against a set.

    The two methods below are VADER's own (MIT licence, C.J. Hutto) with those changes only.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lexicon.update(DOMAIN_VALENCE)
        self._emoji_free_ascii = not any(emoji.isascii() for emoji in self.emojis)

    def polarity_scores(self, text: str) -> dict[str, float]:
        if not (self._emoji_free_ascii and text.isascii()):
            return super().polarity_scores(text)
        text = text.strip()
        sentitext = SentiText(text)
        sentiments: list[float] = []
        words_and_emoticons = sentitext.words_and_emoticons
        lexicon = self.lexicon
        for i, item in enumerate(words_and_emoticons):
            valence = 0
            lowered = item.lower()
            if lowered in BOOSTER_DICT:
                sentiments.append(valence)
                continue
            if (
                i < len(words_and_emoticons) - 1
                and lowered == "kind"
                and words_and_emoticons[i + 1].lower() == "of"
            ):
                sentiments.append(valence)
                continue
            if lowered not in lexicon:  # sentiment_valence would only append the 0
                sentiments.append(valence)
                continue
            sentiments = self.sentiment_valence(valence, sentitext, item, i, sentiments)
        sentiments = self._but_check(words_and_emoticons, sentiments)
        return self.score_valence(sentiments, text)

    @staticmethod
    def _negation_check(valence: float, words_and_emoticons: list, start_i: int, i: int) -> float:
        def lower(index: int) -> str:
            return str(words_and_emoticons[index]).lower()

        def negated(word: str) -> bool:
            return word in _NEGATIONS or "n't" in word

        if start_i == 0:
            if negated(lower(i - (start_i + 1))):
                valence = valence * N_SCALAR
        if start_i == 1:
            if lower(i - 2) == "never" and (lower(i - 1) == "so" or lower(i - 1) == "this"):
                valence = valence * 1.25
            elif lower(i - 2) == "without" and lower(i - 1) == "doubt":
                pass
            elif negated(lower(i - (start_i + 1))):
                valence = valence * N_SCALAR
        if start_i == 2:
            if (
                lower(i - 3) == "never"
                and (lower(i - 2) == "so" or lower(i - 2) == "this")
                or (lower(i - 1) == "so" or lower(i - 1) == "this")
            ):
                valence = valence * 1.25
            elif lower(i - 3) == "without" and (lower(i - 2) == "doubt" or lower(i - 1) == "doubt"):
                pass
            elif negated(lower(i - (start_i + 1))):
                valence = valence * N_SCALAR
        return valence


@lru_cache(maxsize=1)
def _analyzer() -> ReviewAnalyzer:
    # Built once per process on first use (it reads its lexicon files), never at import.
    return ReviewAnalyzer()


def compound_score(sentence: str) -> float:
    """VADER compound score of one sentence in [-1, 1], with the back-care domain words."""
    if _PAIN_WORD.search(sentence):
        sentence = RELIEF_PHRASES.sub("relief", sentence)
    return float(_analyzer().polarity_scores(sentence)["compound"])


def review_keys(reviews: pd.DataFrame) -> pd.Series:
    """The cache key of each review: its ``content_hash`` when set, else sha1 of title + body
    (hashed only for the rows that lack one)."""
    if "content_hash" in reviews:
        keys = reviews["content_hash"].astype(object)
        missing = (keys.isna() | (keys.astype(str) == "")).to_numpy(dtype=bool)
    else:
        keys = pd.Series(None, index=reviews.index, dtype=object)
        missing = np.ones(len(reviews), dtype=bool)
    if missing.any():
        lacking = reviews[missing]
        titles = lacking["title"] if "title" in lacking else [None] * len(lacking)
        bodies = lacking["body"] if "body" in lacking else [None] * len(lacking)
        keys = keys.copy()
        keys[missing] = [
            hashlib.sha1(f"{_text(t)}\x1f{_text(b)}".encode()).hexdigest()
            for t, b in zip(titles, bodies, strict=True)
        ]
    return keys.astype(object)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``: whitespace collapsed, pieces with no letter or digit dropped."""
    pieces = SENTENCE_BREAK.split(text)
    return [" ".join(p.split()) for p in pieces if _HAS_WORD.search(p)]


def compound_scores(sentences: pd.Series) -> pd.Series:
    """VADER compound score in [-1, 1] of each sentence; each distinct sentence scored once."""
    unique = sentences.drop_duplicates()
    scores = {s: compound_score(s) for s in unique}
    return sentences.map(scores).astype("float64")


def review_sentences(reviews: pd.DataFrame) -> pd.DataFrame:
    """One row per sentence of each review (title first, then body) with its VADER compound.

    Columns SENTENCE_COLUMNS; a review with no text gives no rows. Reviews sharing a key are
    split once, and reviews with identical text share the work.
    """
    if reviews.empty:
        return _empty_sentences()
    titles = reviews["title"] if "title" in reviews else pd.Series(None, index=reviews.index)
    bodies = reviews["body"] if "body" in reviews else pd.Series(None, index=reviews.index)
    texts = pd.DataFrame(
        {
            "review_key": review_keys(reviews),
            "title": [_text(t) for t in titles],
            "body": [_text(b) for b in bodies],
        }
    ).drop_duplicates("review_key")
    # Split each distinct (title, body) once; many reviews repeat the same short text.
    texts["text_id"] = texts.groupby(["title", "body"], sort=False).ngroup()
    distinct = texts.drop_duplicates("text_id")
    split = {
        text_id: split_sentences(title) + split_sentences(body)
        for text_id, title, body in zip(
            distinct["text_id"], distinct["title"], distinct["body"], strict=True
        )
    }
    per_text = pd.DataFrame({"text_id": list(split), "sentence": list(split.values())}).explode(
        "sentence"
    )
    per_text = per_text.dropna(subset=["sentence"])
    if per_text.empty:
        return _empty_sentences()
    per_text["sentence_index"] = per_text.groupby("text_id").cumcount().astype("int64")
    per_text["compound"] = compound_scores(per_text["sentence"])
    sentences = texts[["review_key", "text_id"]].merge(per_text, on="text_id", how="inner")
    return (
        sentences[list(SENTENCE_COLUMNS)]
        .astype({"sentence": object})
        .sort_values(["review_key", "sentence_index"], ignore_index=True)
    )


def _empty_sentences() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "review_key": pd.Series(dtype=object),
            "sentence_index": pd.Series(dtype="int64"),
            "sentence": pd.Series(dtype=object),
            "compound": pd.Series(dtype="float64"),
        }
    )


def sentence_features(
    reviews: pd.DataFrame, cache: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(features, new_cache_rows)``: the sentences of ``reviews``, scoring only uncached ones.

    ``cache`` is an earlier ``new_cache_rows`` (or their union, as the store keeps them);
    ``features`` holds the rows of every review in ``reviews`` (cached or new), and
    ``new_cache_rows`` only those computed now, for the store to append.
    """
    keys = review_keys(reviews)
    if cache is None or cache.empty:
        cached = _empty_sentences()
    else:
        missing = [c for c in SENTENCE_COLUMNS if c not in cache.columns]
        if missing:
            raise ValueError(f"sentence cache is missing columns: {', '.join(missing)}")
        cached = cache.loc[cache["review_key"].isin(set(keys)), list(SENTENCE_COLUMNS)]
    known = set(cached["review_key"])
    new_rows = review_sentences(reviews.loc[~keys.isin(known)])
    parts = [frame for frame in (cached, new_rows) if not frame.empty]
    features = pd.concat(parts, ignore_index=True) if parts else _empty_sentences()
    return _in_review_order(features), new_rows


def _with_review_keys(rows: pd.DataFrame, keys: np.ndarray) -> pd.DataFrame:
    """A worker's sentence rows with ``review_key`` for its ``review_row`` (into ``keys``)."""
    review_key = keys[rows["review_row"].to_numpy()]
    return rows.drop(columns="review_row").assign(review_key=review_key)[list(SENTENCE_COLUMNS)]


def _in_review_order(sentences: pd.DataFrame) -> pd.DataFrame:
    """Sentence rows typed as SENTENCE_COLUMNS and sorted by review key and position."""
    return sentences.astype(
        {"review_key": object, "sentence_index": "int64", "sentence": object, "compound": "float64"}
    ).sort_values(["review_key", "sentence_index"], ignore_index=True)


def _sentiment_chunk(reviews: pd.DataFrame) -> pd.DataFrame:
    """Sentences of one chunk of uncached reviews (runs in a worker process), each naming its
    review by position in the chunk (``review_row``): the main process holds the keys already,
    so a million of them are not sent back as new strings."""
    rows = sentence_features(reviews, None)[1]
    position = pd.Index(reviews["content_hash"]).get_indexer(rows["review_key"])
    return rows.drop(columns="review_key").assign(review_row=position.astype(np.int32))


class PendingSentiment:
    """Sentence features being computed: many uncached reviews go to worker processes at
    once (so the main process can judge trust meanwhile); ``result()`` waits for them."""

    def __init__(self, reviews: pd.DataFrame, cache: SentenceCache, workers: int) -> None:
        keys = review_keys(reviews)
        if callable(cache):
            cache = cache(list(dict.fromkeys(keys)))
        self.reviews, self.cache = reviews, cache
        known = set(cache["review_key"]) if cache is not None and not cache.empty else set()
        # the cached sentences of these reviews, for result() to join with the new ones
        self.cached = None
        if known:
            self.cached = cache.loc[cache["review_key"].isin(set(keys)), list(SENTENCE_COLUMNS)]
        uncached = ~keys.isin(known).to_numpy(dtype=bool)
        todo = pd.DataFrame(
            {
                "content_hash": keys[uncached].to_numpy(),
                "title": reviews["title"].to_numpy()[uncached],
                "body": reviews["body"].to_numpy()[uncached],
            }
        ).drop_duplicates("content_hash")
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list[tuple[int, Any]] = []  # (first row of the chunk, its future)
        if len(todo) >= PARALLEL_SENTIMENT_MIN and workers >= 2:
            self.pool = ProcessPoolExecutor(workers, mp_context=get_context("forkserver"))
            self.keys = todo["content_hash"].to_numpy()
            self.futures = [
                (i, self.pool.submit(_sentiment_chunk, todo.iloc[i : i + SENTIMENT_CHUNK]))
                for i in range(0, len(todo), SENTIMENT_CHUNK)
            ]

    def close(self) -> None:
        """Stop the workers (after a result, or when the run failed before asking for one)."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def result(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(features, new rows)`` as ``sentence_features`` gives them."""
        if self.pool is None:
            return sentence_features(self.reviews, self.cache)
        try:
            parts = [
                _with_review_keys(future.result(), self.keys[start:])
                for start, future in self.futures
            ]
        finally:
            self.close()
        # one sorted frame serves as both when nothing was cached (a first run): the sentences
        # of a million reviews are copied once, not once per step
        new_rows = _in_review_order(pd.concat(parts, ignore_index=True))
        if self.cached is None or self.cached.empty:
            return new_rows, new_rows
        return _in_review_order(pd.concat([self.cached, new_rows], ignore_index=True)), new_rows
