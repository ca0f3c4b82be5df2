"""Review sentiment: sentence splitting, VADER polarity, the cache, aspects and pros/cons quotes."""

from __future__ import annotations

import random
from functools import lru_cache

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from backrank.core.settings import scoring_config
from pipelines.aspects import (
    QUOTE_MAX_CHARS,
    aspect_lexicon,
    aspect_mentions,
    pros_and_cons,
    short_quote,
)
from pipelines.sentiment import (
    DOMAIN_VALENCE,
    SENTENCE_COLUMNS,
    ReviewAnalyzer,
    compound_score,
    review_keys,
    review_sentences,
    sentence_features,
    split_sentences,
)


def reviews_frame(*rows: dict[str, object]) -> pd.DataFrame:
    base = {
        "product_id": "p1", "store": "shop-a", "verified": True, "helpful_votes": 0,
        "rating": 5.0, "title": None, "body": None,
    }  # fmt: skip
    records = [base | {"review_id": f"r{i}"} | row for i, row in enumerate(rows)]
    return pd.DataFrame(records)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great table! Easy to set up.", ["Great table!", "Easy to set up."]),
        ("Dr. Lee told me to try it. It helps.", ["Dr. Lee told me to try it.", "It helps."]),
        ("It is 5.5 ft long. Fine", ["It is 5.5 ft long.", "Fine"]),
        ("works great. love it", ["works great.", "love it"]),
        ("First line\nsecond line", ["First line", "second line"]),
        ('She said "wow." Then left', ['She said "wow."', "Then left"]),
        ("Wait... what?! ok", ["Wait...", "what?!", "ok"]),
        ("!!! ...", []),
        ("", []),
        ("  lots   of\t space  ", ["lots of space"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("sentence", "sign"),
    [
        ("I love this table, it is excellent!", 1),
        ("Terrible product, it broke in a week.", -1),
        ("My back pain is gone!", 1),
        ("No more back pain.", 1),
        ("It relieved my sciatica pain.", 1),
        ("I am pain free now.", 1),
        ("My back pain is not gone.", -1),
        ("Made my back pain worse.", -1),
        ("Assembly was a nightmare.", -1),
        ("The table squeaks and wobbles.", -1),
        ("Very sturdy and well made.", 1),
        ("The box arrived on Tuesday.", 0),
    ],
)
def test_compound_polarity_on_clear_sentences(sentence: str, sign: int) -> None:
    score = compound_score(sentence)
    if sign > 0:
        assert score >= 0.3
    elif sign < 0:
        assert score <= -0.3
    else:
        assert score == 0.0


def test_review_sentences_title_first_then_body() -> None:
    reviews = reviews_frame({"title": "Love it", "body": "Works great. My back pain is gone!"})
    sentences = review_sentences(reviews)
    assert list(sentences.columns) == list(SENTENCE_COLUMNS)
    assert sentences["sentence"].tolist() == ["Love it", "Works great.", "My back pain is gone!"]
    assert sentences["sentence_index"].tolist() == [0, 1, 2]
    assert (sentences["compound"] > 0).all()
    assert sentences["review_key"].nunique() == 1


def test_review_key_prefers_content_hash() -> None:
    reviews = reviews_frame({"title": "A", "body": "B"}, {"title": "A", "body": "B"})
    plain = review_keys(reviews)
    assert plain.iloc[0] == plain.iloc[1]  # same text, same fallback key
    hashed = review_keys(reviews.assign(content_hash=["h1", None]))
    assert hashed.tolist() == ["h1", plain.iloc[1]]


def test_empty_frames_and_reviews_without_text() -> None:
    empty = reviews_frame().iloc[0:0]
    assert review_sentences(empty).empty
    no_text = reviews_frame({"title": None, "body": None}, {"title": "", "body": "   "})
    features, new_rows = sentence_features(no_text, None)
    assert features.empty and new_rows.empty
    assert list(features.columns) == list(SENTENCE_COLUMNS)
    result = pros_and_cons(features, no_text, aspect_lexicon())
    assert result.to_dict("records") == [{"product_id": "p1", "pros": [], "cons": []}]


def test_cache_second_call_computes_nothing_new() -> None:
    reviews = reviews_frame(
        {"title": "Sturdy", "body": "Very sturdy. Quiet too."},
        {"title": "Bad", "body": "It squeaks a lot."},
    ).assign(content_hash=["h1", "h2"])
    features, new_rows = sentence_features(reviews, None)
    assert set(new_rows["review_key"]) == {"h1", "h2"}
    again, none_new = sentence_features(reviews, new_rows)
    assert none_new.empty
    pd.testing.assert_frame_equal(again, features)
    # One more review: only it is computed; the cached ones are still in the features.
    more = pd.concat([reviews, reviews_frame({"title": "Ok", "body": "Fine."})], ignore_index=True)
    more.loc[2, "content_hash"] = "h3"
    all_features, just_new = sentence_features(more, new_rows)
    assert set(just_new["review_key"]) == {"h3"}
    assert set(all_features["review_key"]) == {"h1", "h2", "h3"}


def test_cache_with_wrong_columns_fails_loudly() -> None:
    reviews = reviews_frame({"body": "Fine."})
    with pytest.raises(ValueError, match="sentence cache is missing columns: compound"):
        sentence_features(
            reviews, pd.DataFrame({"review_key": ["x"], "sentence_index": [0], "sentence": ["y"]})
        )


def test_identical_reviews_are_all_counted() -> None:
    same = {"title": "Great", "body": "My back pain is gone! Very sturdy."}
    reviews = reviews_frame(*[same] * 4)
    features, _ = sentence_features(reviews, None)
    assert len(features) == 3  # one set of sentences, shared by the four reviews
    result = pros_and_cons(features, reviews, aspect_lexicon())
    pros = {p["aspect"]: p for p in result.loc[0, "pros"]}
    assert pros["pain_relief"]["count"] == 4
    assert pros["build_quality"]["count"] == 4
    # the same sentence is quoted once, not four times
    assert len(pros["pain_relief"]["quotes"]) == 1


@pytest.mark.parametrize(
    ("sentence", "aspects"),
    [
        ("My back pain is gone", {"pain_relief"}),
        ("Assembly was painful", {"assembly"}),  # "painful" is not about pain relief
        ("It squeaks when I rotate", {"noise"}),
        ("Easy to assemble, very sturdy", {"assembly", "build_quality"}),
        ("Great value for the price", {"value"}),
        ("The seller sent a replacement", {"customer_service"}),
        ("Fits my 6'4\" height", {"fit_size"}),
        ("The ankle holders hurt my ankles", {"comfort"}),
        ("The painting on the box was nice", set()),  # "pain" only as a whole word
        ("Decompression felt amazing", {"pain_relief"}),
    ],
)
def test_aspect_matching_whole_words(sentence: str, aspects: set[str]) -> None:
    sentences = pd.DataFrame(
        {"review_key": ["k"], "sentence_index": [0], "sentence": [sentence], "compound": [0.5]}
    )
    found = aspect_mentions(sentences, aspect_lexicon())
    assert set(found["aspect"]) == aspects


def test_aspect_lexicon_overrides_from_catalog() -> None:
    scoring = {
        "aspects": {
            "noise": [],
            "smell": ["smell", "odor"],
            "comfort": {"label": "Comfort on the ankles", "extra_keywords": ["strap"]},
        }
    }
    lexicon = aspect_lexicon(scoring_config(scoring).aspects)
    assert "noise" not in lexicon
    assert lexicon["smell"].keywords == ("smell", "odor")
    assert lexicon["comfort"].label == "Comfort on the ankles"
    assert "strap" in lexicon["comfort"].keywords and "padding" in lexicon["comfort"].keywords
    with pytest.raises(ValueError, match="scoring.aspects.value: must be a list of keywords"):
        scoring_config({"aspects": {"value": "price"}})
    with pytest.raises(ValueError, match="scoring.aspects.value: must be a list of strings"):
        scoring_config({"aspects": {"value": ["price", 3]}})
    with pytest.raises(ValueError, match=r"aspects\.comfort\.labels: unknown key \(did you mean"):
        scoring_config({"aspects": {"comfort": {"labels": "x"}}})


def _pros_cons_reviews() -> pd.DataFrame:
    long_praise = (
        "The padded frame is sturdy and solid, and honestly the build quality is excellent "
        "compared with the cheaper tables I tried before, which wobbled and creaked every "
        "single time I leaned back into the full inversion position."
    )
    rows = []
    for i in range(4):  # verified praise of build quality; the most helpful has a long sentence
        rows.append(
            {
                "review_id": f"good{i}",
                "helpful_votes": i,
                "verified": True,
                "body": long_praise if i == 3 else f"Very sturdy and well made, table {i}.",
            }
        )
    for i in range(3):  # unverified praise: counted, never quoted
        rows.append(
            {
                "review_id": f"unv{i}",
                "verified": False,
                "helpful_votes": 50,
                "body": f"Excellent sturdy build, unverified {i}.",
            }
        )
    for i in range(3):  # complaints about noise, one with unknown verified status
        rows.append(
            {
                "review_id": f"noise{i}",
                "rating": 2.0,
                "verified": None if i == 0 else True,
                "helpful_votes": None,
                "body": f"It squeaks terribly, awful noise {i}.",
            }
        )
    # a 5-star review describing the pain the buyer had: not a con of the product
    rows.append({"review_id": "story", "body": "I had terrible back pain for years."})
    rows.append({"review_id": "other", "product_id": "p2", "body": "Fine."})
    return reviews_frame(*rows)


def test_pros_and_cons_counts_and_verified_quotes() -> None:
    reviews = _pros_cons_reviews()
    features, _ = sentence_features(reviews, None)
    result = pros_and_cons(features, reviews, aspect_lexicon()).set_index("product_id")
    assert result.loc["p2", "pros"] == [] and result.loc["p2", "cons"] == []
    pros, cons = result.loc["p1", "pros"], result.loc["p1", "cons"]
    build = next(p for p in pros if p["aspect"] == "build_quality")
    assert build["label"] == "Build quality"
    assert build["count"] == 7
    ids = [q["review_id"] for q in build["quotes"]]
    assert ids == ["good3", "good2", "good1"]  # verified only, most helpful first
    assert all(len(q["text"]) <= QUOTE_MAX_CHARS for q in build["quotes"])
    assert build["quotes"][0]["text"].endswith("\u2026")
    assert all(q["store"] == "shop-a" for q in build["quotes"])
    noise = next(c for c in cons if c["aspect"] == "noise")
    assert noise["count"] == 3
    assert {q["review_id"] for q in noise["quotes"]} == {"noise1", "noise2"}  # not noise0
    assert not any(c["aspect"] == "pain_relief" for c in cons)


def test_min_mentions_and_dominance() -> None:
    reviews = _pros_cons_reviews()
    features, _ = sentence_features(reviews, None)
    lexicon = aspect_lexicon()
    strict = pros_and_cons(features, reviews, lexicon, min_mentions=4).set_index("product_id")
    assert [c["aspect"] for c in strict.loc["p1", "cons"]] == []
    # two praises and two complaints of comfort: neither side clearly wins
    mixed = reviews_frame(
        *[{"body": "So comfortable, wonderful padding."}] * 3,
        *[{"body": "Very uncomfortable, awful padding.", "rating": 2.0}] * 3,
    )
    features, _ = sentence_features(mixed, None)
    result = pros_and_cons(features, mixed, lexicon, min_mentions=1)
    assert result.loc[0, "pros"] == [] and result.loc[0, "cons"] == []


def test_short_quote_cuts_on_word_boundary() -> None:
    text = "word " * 60
    quote = short_quote(text)
    assert len(quote) <= QUOTE_MAX_CHARS
    assert quote.endswith("word\u2026")
    assert short_quote("  Short   one. ") == "Short one."


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=200)), min_size=1, max_size=4))
def test_never_crashes_on_arbitrary_text(bodies: list[str | None]) -> None:
    reviews = reviews_frame(*[{"title": b, "body": b} for b in bodies])
    features, new_rows = sentence_features(reviews, None)
    assert features["compound"].between(-1, 1).all()
    assert len(new_rows) == len(features)
    result = pros_and_cons(features, reviews, aspect_lexicon(), min_mentions=1)
    for entry in result.loc[0, "pros"] + result.loc[0, "cons"]:
        assert all(len(q["text"]) <= QUOTE_MAX_CHARS for q in entry["quotes"])


SCORER_WORDS = (
    "not", "never", "isn't", "without", "doubt", "so", "this", "no", "least", "at", "very",
    "but", "kind", "of", "good", "great", "bad", "awful", "love", "hate", "sturdy", "wobbly",
    "GREAT", "BAD", "table", "frame", "pain", "back", "is", "gone", "helps", "my", "it", "the",
    "extremely", "barely", "!", "?", "!!!", ":)", ":(", "café", "\N{GRINNING FACE}", "lol",
    "nor", "or", "sort", "really", "didn't", "ain't", "Great!", "awful,", "...",
)  # fmt: skip


@lru_cache(maxsize=1)
def analyzers() -> tuple[SentimentIntensityAnalyzer, ReviewAnalyzer]:
    """Stock VADER with the domain words, and the scorer's faster one (built once)."""
    stock = SentimentIntensityAnalyzer()
    stock.lexicon.update(DOMAIN_VALENCE)
    return stock, ReviewAnalyzer()


def test_review_analyzer_scores_exactly_as_stock_vader() -> None:
    stock, fast = analyzers()
    rng = random.Random(5)
    for _ in range(4000):
        words = rng.choices(SCORER_WORDS, k=rng.randrange(1, 15))
        sentence = " ".join(words)
        assert fast.polarity_scores(sentence) == stock.polarity_scores(sentence), sentence


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_review_analyzer_matches_stock_vader_on_any_text(text: str) -> None:
    stock, fast = analyzers()
    assert fast.polarity_scores(text) == stock.polarity_scores(text)
    ascii_text = text.encode("ascii", "ignore").decode()
    assert fast.polarity_scores(ascii_text) == stock.polarity_scores(ascii_text)
