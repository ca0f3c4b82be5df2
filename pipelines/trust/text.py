"""Text signals of review trust: incentivised wording, short reviews, near-duplicate phrasing."""

from __future__ import annotations

import re
from dataclasses import dataclass

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

# texts read together by text_shape (bounds its temporary arrays)
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
    """Lower-case word lists of each text (NaN where there is no text)."""
    return text.str.lower().astype(object).str.findall(_WORD)


def word_count(words: pd.Series) -> pd.Series:
    """Number of words in each ``tokenise`` list (NaN where there is no text)."""
    counts = [len(value) if isinstance(value, list) else np.nan for value in words]
    return pd.Series(counts, index=words.index, dtype=float)


def _permutations(seed: int, permutations: int) -> tuple[np.ndarray, np.ndarray]:
    """The odd multipliers and offsets of the MinHash permutations (fixed by ``seed``)."""
    rng = np.random.default_rng(seed)
    odd = rng.integers(1, 2**63, size=permutations, dtype=np.uint64)
    offsets = rng.integers(0, 2**63, size=permutations, dtype=np.uint64)
    return odd * np.uint64(2) + np.uint64(1), offsets


@dataclass(frozen=True)
class TextShape:
    """What the near-duplicate and short-review tests read of each text."""

    word_count: pd.Series  # words per text, NaN where there is no text
    band_hashes: pd.DataFrame  # one uint64 column per LSH band, a row per text long enough


def text_shape(
    text: pd.Series, *, shingle_words: int, bands: int, rows: int, min_words: int, seed: int
) -> TextShape:
    """Word counts, and the LSH band hashes of every text with at least ``min_words`` words
    (and a whole shingle): the hash of each band's ``rows`` MinHash values.

    Words are hashed once with pandas' vectorised hash, shingles are combined from
    neighbouring word hashes, and each permutation is an odd multiply-add modulo 2^64,
    reduced per text with ``minimum.reduceat``.

    Read a chunk of texts at a time: neither the word lists of a million reviews (about
    500 MB) nor their whole signatures (320 MB) are ever held at once.
    """
    counts = np.full(len(text), np.nan)
    multipliers, offsets = _permutations(seed, bands * rows)
    parts: list[np.ndarray] = []
    owners: list[pd.Index] = []
    for i in range(0, len(text), MINHASH_CHUNK):
        words = tokenise(text.iloc[i : i + MINHASH_CHUNK])
        chunk_counts = word_count(words)
        counts[i : i + len(words)] = chunk_counts.to_numpy()
        words = words[(chunk_counts >= max(min_words, shingle_words)).to_numpy()]
        if words.empty:
            continue
        signature = _signature_chunk(words, shingle_words, multipliers, offsets)
        parts.append(
            np.column_stack(
                [
                    pd.util.hash_pandas_object(
                        pd.DataFrame(signature[:, band * rows : (band + 1) * rows]), index=False
                    ).to_numpy()
                    for band in range(bands)
                ]
            )
        )
        owners.append(words.index)
    hashes = np.concatenate(parts) if parts else np.empty((0, bands), dtype=np.uint64)
    index = owners[0].append(owners[1:]) if owners else text.index[:0]
    return TextShape(
        word_count=pd.Series(counts, index=text.index),
        band_hashes=pd.DataFrame(hashes, index=index),
    )


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


def near_duplicates(band_hashes: pd.DataFrame, block: pd.Series) -> pd.Series:
    """True where a text nearly repeats another of its block (product/brand): ``band_hashes``
    are ``text_shape``'s, ``block`` names each text's block (the index of all texts).

    Locality-sensitive hashing over MinHash bands: two texts collide in a band when ``rows``
    signature values agree, so texts with word-shingle Jaccard similarity s are caught with
    probability 1 - (1 - s^rows)^bands (with 10 x 4: 0.99 at s = 0.8, 0.8 at s = 0.6, 0.08 at
    s = 0.3, 0.001 at s = 0.1). Collisions are
    found with hashing per (block, band), never by comparing pairs, so the cost is linear.
    """
    flagged = pd.Series(False, index=block.index)
    if len(band_hashes) < 2:
        return flagged
    block_key = pd.util.hash_array(block.loc[band_hashes.index].astype(str).to_numpy(dtype=object))
    hit = np.zeros(len(band_hashes), dtype=bool)
    for band in band_hashes.columns:
        keys = pd.Series(band_hashes[band].to_numpy() ^ (block_key * np.uint64(0x100000001B3)))
        hit |= keys.duplicated(keep=False).to_numpy()
    flagged.loc[band_hashes.index] = hit
    return flagged
