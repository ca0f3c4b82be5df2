"""Text signals of review trust: incentivised wording, short reviews, near-duplicate phrasing."""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd

# "I received this product free / at a discount in exchange for my honest review" and kin.
INCENTIVISED_PATTERN = (
    r"in (?:exchange|return) for (?:my |an |a )?(?:honest |unbiased |fair |truthful |impartial )?"
    r"(?:review|opinion|feedback|evaluation)"
    r"|(?:received|got|given|provided|sent)\b[^.!?]{0,60}?"
    r"\b(?:for free|free of charge|free(?!\s+(?:shipping|delivery|returns?)\b)|at a discount"
    r"|discounted|at no cost|no charge|complimentary)\b"
    r"[^.!?]{0,60}?\b(?:review|opinion|feedback|testing|evaluation)"
    r"|(?:free|discounted) (?:sample|product|item|unit) (?:for|in exchange)"
    r"|disclaimer:?[^.!?]{0,40}\b(?:free|discounted|discount)\b"
    r"|(?:refund|rebate|coupon|voucher|gift card|discount code)\b[^.!?]{0,60}?"
    r"\b(?:for|after|in return for) (?:leaving|writing|posting|giving) (?:a|an|my|the)\b"
    r"[^.!?]{0,20}?\b(?:review|rating)"
)

# The same disclosure in the other languages store-hosted reviews of the demo's kind of
# products come in (the EU marketplaces): per language, phrases for "in exchange for", for
# "received / was given", for "free / discounted" and for "review / testing". A text is
# incentivised when one sentence has an exchange phrase followed by a review word, or a
# received phrase, a free phrase and a review word in any order (word order differs by
# language: "kostenlos zum Testen erhalten").
INCENTIVE_CUES: dict[str, dict[str, str]] = {
    "de": {
        "exchange": r"im austausch (?:für|gegen)|gegen eine|als gegenleistung für",
        "given": r"erhalten|bekommen|zur verfügung gestellt|zugeschickt|zugesandt|überlassen",
        "free": r"kostenlos|kostenfrei|gratis|umsonst|vergünstigt|rabattiert|zum sonderpreis"
        r"|mit rabatt|reduziert",
        "review": r"bewertung|rezension|meinung|testbericht|zum testen|test|produkttest",
    },
    "fr": {
        "exchange": r"en échange d['’]|en contrepartie d['’]",
        "given": r"reçu|reçue|offert|offerte|fourni|fournie|envoyé|envoyée|obtenu",
        "free": r"gratuitement|gratuit|gratuite|à prix réduit|avec une réduction|remisé"
        r"|à titre gracieux|offert par|offerte par",
        "review": r"avis|évaluation|commentaire|tester|test",
    },
    "es": {
        "exchange": r"a cambio de",
        "given": r"recibí|recibido|recibida|me enviaron|me regalaron|proporcionado|obtuve",
        "free": r"gratis|gratuitamente|gratuito|sin coste|sin costo|con descuento"
        r"|a precio reducido",
        "review": r"opinión|reseña|valoración|comentario|probarlo|probar|prueba",
    },
    "it": {
        "exchange": r"in cambio di|in cambio per",
        "given": r"ricevuto|ricevuta|inviato|inviata|fornito|fornita|omaggiato",
        "free": r"gratuitamente|gratis|in omaggio|scontato|scontata|a prezzo ridotto",
        "review": r"recensione|opinione|valutazione|provarlo|provare|test",
    },
    "nl": {
        "exchange": r"in ruil voor|in ruil van",
        "given": r"ontvangen|gekregen|toegestuurd|opgestuurd",
        "free": r"gratis|kosteloos|met korting|voor niets",
        "review": r"review|recensie|beoordeling|mening|testen|test",
    },
}


def _language_pattern(cues: dict[str, str]) -> str:
    """One language's disclosure as a regex over a sentence (see INCENTIVE_CUES)."""
    word = {name: rf"\b(?:{cue})\b" for name, cue in cues.items()}
    sentence = r"[^.!?]*?"
    any_order = "".join(f"(?={sentence}{word[name]})" for name in ("given", "free", "review"))
    return rf"{word['exchange']}[^.!?]{{0,40}}?{word['review']}|(?:^|[.!?]\s*){any_order}"


INCENTIVISED_PATTERNS = (INCENTIVISED_PATTERN, *map(_language_pattern, INCENTIVE_CUES.values()))

# texts hashed together in minhash_signatures (bounds its temporary arrays)
MINHASH_CHUNK = 50_000

# Every disclosure a pattern finds holds one of its anchor words (whole): a cheap first pass
# by word set picks the texts each pattern is run on (one alternation of many words would
# scan every text once per word, and most texts hold no anchor at all).
ENGLISH_ANCHORS = frozenset(
    "exchange return free discount discounted cost charge complimentary refund rebate coupon"
    " voucher gift disclaimer".split()
)


def _cue_anchors(cues: dict[str, str]) -> frozenset[str]:
    """The words of a language's exchange and free phrases (each phrase holds one)."""
    phrases = (cues["exchange"] + "|" + cues["free"]).replace("['’]", "").split("|")
    return frozenset(word for phrase in phrases for word in re.findall(r"\w+", phrase))


# the small words of those phrases, too common to pick texts by
_STOP_ANCHORS = frozenset(
    "a à al als avec con d de di eine en für im in met mit par per precio prezzo prix sin"
    " titre une van voor zum".split()
)
LANGUAGE_ANCHORS = {
    language: _cue_anchors(cues) - _STOP_ANCHORS for language, cues in INCENTIVE_CUES.items()
}
PATTERN_ANCHORS = (ENGLISH_ANCHORS, *LANGUAGE_ANCHORS.values())  # as INCENTIVISED_PATTERNS
INCENTIVE_ANCHORS = frozenset().union(*PATTERN_ANCHORS)


def incentivised(text: pd.Series) -> pd.Series:
    """True where the text says the product was given free or discounted for the review
    (English, German, French, Spanish, Italian or Dutch wording)."""
    find = _WORD.findall

    def anchors(value: object) -> frozenset[str] | None:
        if not isinstance(value, str):
            return None
        # None, not an empty set, for the many texts without one (a set per text is 200 B)
        return INCENTIVE_ANCHORS.intersection(find(value.lower())) or None

    held = [anchors(value) for value in text.astype(object)]
    found = np.zeros(len(text), dtype=bool)
    for pattern, wanted in zip(INCENTIVISED_PATTERNS, PATTERN_ANCHORS, strict=True):
        candidate = np.fromiter(
            (h is not None and not wanted.isdisjoint(h) for h in held), bool, len(held)
        )
        candidate &= ~found
        if candidate.any():
            chosen = text[candidate]
            hit = chosen.str.contains(pattern, case=False, regex=True).fillna(False)
            found[candidate] = hit.to_numpy(dtype=bool)
    return pd.Series(found, index=text.index)


_WORD = re.compile(r"\w+")


def tokenise(text: pd.Series) -> pd.Series:
    """Lower-case word lists of each text (NaN where there is no text).

    Each distinct word is one shared string object: a million reviews hold tens of millions
    of words but a small vocabulary, so sharing saves gigabytes.
    """
    find = _WORD.findall

    def words(value: str) -> list[str]:
        return list(map(sys.intern, find(value)))

    lowered = text.str.lower()
    return lowered.astype(object).map(words, na_action="ignore")


def word_count(words: pd.Series) -> pd.Series:
    """Number of words in each ``tokenise`` list (NaN where there is no text)."""
    return words.str.len().astype(float)


def _permutations(seed: int, permutations: int) -> tuple[np.ndarray, np.ndarray]:
    """The odd multipliers and offsets of the MinHash permutations (fixed by ``seed``)."""
    rng = np.random.default_rng(seed)
    odd = rng.integers(1, 2**63, size=permutations, dtype=np.uint64)
    offsets = rng.integers(0, 2**63, size=permutations, dtype=np.uint64)
    return odd * np.uint64(2) + np.uint64(1), offsets


def _long_enough(words: pd.Series, shingle_words: int, min_words: int) -> pd.Series:
    """The word lists with at least ``min_words`` (and a whole shingle) words."""
    long_enough = words.str.len() >= max(min_words, shingle_words)
    return words[long_enough.fillna(False).astype(bool)]


def minhash_signatures(
    words: pd.Series, *, shingle_words: int, permutations: int, min_words: int, seed: int
) -> pd.DataFrame:
    """MinHash signature (one uint64 column per permutation) of each word list's shingles.

    Only texts with at least ``min_words`` words get a row. Words are hashed once with
    pandas' vectorised hash, shingles are combined from neighbouring word hashes, and each
    permutation is an odd multiply-add modulo 2^64, reduced per text with ``minimum.reduceat``.
    """
    words = _long_enough(words, shingle_words, min_words)
    if words.empty:
        return pd.DataFrame(index=words.index)
    multipliers, offsets = _permutations(seed, permutations)
    signature = np.empty((len(words), permutations), dtype=np.uint64)
    # texts are independent: a chunk at a time keeps the word arrays small (a million
    # reviews explode into tens of millions of words)
    for i in range(0, len(words), MINHASH_CHUNK):
        chunk = words.iloc[i : i + MINHASH_CHUNK]
        signature[i : i + len(chunk)] = _signature_chunk(chunk, shingle_words, multipliers, offsets)
    return pd.DataFrame(signature, index=words.index)


def band_hashes(
    words: pd.Series, *, shingle_words: int, bands: int, rows: int, min_words: int, seed: int
) -> pd.DataFrame:
    """One uint64 column per LSH band: the hash of the band's ``rows`` MinHash values, for
    each word list long enough (as ``minhash_signatures``, whose band columns they hash).

    Computed a chunk of texts at a time, so the whole signature (bands x rows values per
    text, 320 MB for a million reviews) is never held at once.
    """
    words = _long_enough(words, shingle_words, min_words)
    hashes = np.empty((len(words), bands), dtype=np.uint64)
    if words.empty:
        return pd.DataFrame(hashes, index=words.index)
    multipliers, offsets = _permutations(seed, bands * rows)
    for i in range(0, len(words), MINHASH_CHUNK):
        chunk = words.iloc[i : i + MINHASH_CHUNK]
        signature = _signature_chunk(chunk, shingle_words, multipliers, offsets)
        for band in range(bands):
            band_values = pd.DataFrame(signature[:, band * rows : (band + 1) * rows])
            hashes[i : i + len(chunk), band] = pd.util.hash_pandas_object(
                band_values, index=False
            ).to_numpy()
    return pd.DataFrame(hashes, index=words.index)


def _signature_chunk(
    words: pd.Series, shingle_words: int, multipliers: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """The MinHash rows of ``words`` (each at least ``shingle_words`` long)."""
    tokens = words.explode()
    owner = np.repeat(np.arange(len(words)), words.str.len().to_numpy())
    word_hash = pd.util.hash_array(tokens.to_numpy(dtype=object))
    del tokens
    count = len(word_hash) - shingle_words + 1
    shingle = word_hash[:count].copy()
    for offset in range(1, shingle_words):
        shingle = shingle * np.uint64(0x9E3779B97F4A7C15) ^ word_hash[offset : offset + count]
    # a shingle is valid when all its words belong to the same text
    valid = owner[:count] == owner[shingle_words - 1 :]
    shingle, shingle_owner = shingle[valid], owner[:count][valid]
    starts = np.flatnonzero(np.r_[True, shingle_owner[1:] != shingle_owner[:-1]])
    signature = np.empty((len(starts), len(multipliers)), dtype=np.uint64)
    for k in range(len(multipliers)):
        permuted = shingle * multipliers[k] + offsets[k]
        signature[:, k] = np.minimum.reduceat(permuted, starts)
    return signature


def near_duplicates(
    words: pd.Series,
    block: pd.Series,
    *,
    shingle_words: int = 3,
    bands: int = 10,
    rows: int = 4,
    min_words: int = 8,
    seed: int = 0,
) -> pd.Series:
    """True where a text (``tokenise`` output) nearly repeats another of its block (product/brand).

    Locality-sensitive hashing over MinHash bands: two texts collide in a band when ``rows``
    signature values agree, so texts with word-shingle Jaccard similarity s are caught with
    probability 1 - (1 - s^rows)^bands (with 10 x 4: 0.99 at s = 0.8, 0.8 at s = 0.6, 0.08 at
    s = 0.3, 0.001 at s = 0.1). Collisions are
    found with hashing per (block, band), never by comparing pairs, so the cost is linear.
    """
    flagged = pd.Series(False, index=words.index)
    hashes = band_hashes(
        words, shingle_words=shingle_words, bands=bands, rows=rows, min_words=min_words, seed=seed
    )
    if len(hashes) < 2:
        return flagged
    block_key = pd.util.hash_array(block.loc[hashes.index].astype(str).to_numpy(dtype=object))
    hit = np.zeros(len(hashes), dtype=bool)
    for band in range(bands):
        keys = pd.Series(hashes[band].to_numpy() ^ (block_key * np.uint64(0x100000001B3)))
        hit |= keys.duplicated(keep=False).to_numpy()
    flagged.loc[hashes.index] = hit
    return flagged
