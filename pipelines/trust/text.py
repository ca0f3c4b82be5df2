"""Text signals of review trust: incentivised wording, short reviews, near-duplicate phrasing."""

from __future__ import annotations

import re

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
    r"|disclaimer:?[^.!?]{0,40}(?:free|discount)"
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

# every incentive disclosure contains one of these; a cheap first pass before the full patterns
_INCENTIVE_WORDS = "|".join(
    [
        r"exchange|return for|free|discount|no cost|no charge|complimentary|refund|rebate|coupon"
        r"|voucher|gift card",
        *(f"{cues['exchange']}|{cues['free']}" for cues in INCENTIVE_CUES.values()),
    ]
)


def incentivised(text: pd.Series) -> pd.Series:
    """True where the text says the product was given free or discounted for the review
    (English, German, French, Spanish, Italian or Dutch wording)."""
    found = pd.Series(False, index=text.index)
    candidate = text.str.contains(_INCENTIVE_WORDS, case=False, regex=True)
    candidate = candidate.fillna(False).astype(bool)
    if candidate.any():
        chosen = text[candidate]
        hit = pd.Series(False, index=chosen.index)
        for pattern in INCENTIVISED_PATTERNS:
            hit |= chosen.str.contains(pattern, case=False, regex=True).fillna(False).astype(bool)
        found[candidate] = hit
    return found.astype(bool)


_WORD = re.compile(r"\w+")


def tokenise(text: pd.Series) -> pd.Series:
    """Lower-case word lists of each text (NaN where there is no text).

    Each distinct word is one shared string object: a million reviews hold tens of millions
    of words but a small vocabulary, so sharing saves gigabytes.
    """
    vocabulary: dict[str, str] = {}
    shared = vocabulary.setdefault
    find = _WORD.findall

    def words(value: str) -> list[str]:
        return [shared(word, word) for word in find(value)]

    lowered = text.str.lower()
    return lowered.astype(object).map(words, na_action="ignore")


def word_count(words: pd.Series) -> pd.Series:
    """Number of words in each ``tokenise`` list (NaN where there is no text)."""
    return words.str.len().astype(float)


def minhash_signatures(
    words: pd.Series, *, shingle_words: int, permutations: int, min_words: int, seed: int
) -> pd.DataFrame:
    """MinHash signature (one uint64 column per permutation) of each word list's shingles.

    Only texts with at least ``min_words`` words get a row. Words are hashed once with
    pandas' vectorised hash, shingles are combined from neighbouring word hashes, and each
    permutation is an odd multiply-add modulo 2^64, reduced per text with ``minimum.reduceat``.
    """
    long_enough = words.str.len() >= max(min_words, shingle_words)
    words = words[long_enough.fillna(False).astype(bool)]
    if words.empty:
        return pd.DataFrame(index=words.index)
    rng = np.random.default_rng(seed)
    odd = rng.integers(1, 2**63, size=permutations, dtype=np.uint64)
    multipliers = odd * np.uint64(2) + np.uint64(1)
    offsets = rng.integers(0, 2**63, size=permutations, dtype=np.uint64)
    # texts are independent: a chunk at a time keeps the word arrays small (a million
    # reviews explode into tens of millions of words)
    parts = [
        _signature_chunk(words.iloc[i : i + MINHASH_CHUNK], shingle_words, multipliers, offsets)
        for i in range(0, len(words), MINHASH_CHUNK)
    ]
    return pd.DataFrame(np.concatenate(parts), index=words.index)


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
    signature = minhash_signatures(
        words,
        shingle_words=shingle_words,
        permutations=bands * rows,
        min_words=min_words,
        seed=seed,
    )
    if len(signature) < 2:
        return flagged
    values = signature.to_numpy()
    block_key = pd.util.hash_array(block.loc[signature.index].astype(str).to_numpy(dtype=object))
    hit = np.zeros(len(values), dtype=bool)
    for band in range(bands):
        band_values = values[:, band * rows : (band + 1) * rows]
        band_hash = pd.util.hash_pandas_object(pd.DataFrame(band_values), index=False).to_numpy()
        keys = pd.Series(band_hash ^ (block_key * np.uint64(0x100000001B3)))
        hit |= keys.duplicated(keep=False).to_numpy()
    flagged.loc[signature.index] = hit
    return flagged
