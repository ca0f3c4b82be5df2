"""Customer reviews of the demo listings, generated on demand, one at a time, never all at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass

from backrank.marketplace.catalog import (
    REVIEW_END_DATE_ORDINAL,
    REVIEW_SPAN_DAYS,
    StoreListing,
)

FIRST_NAMES = (
    "Linda",
    "Mike",
    "Sarah",
    "James",
    "Karen",
    "David",
    "Maria",
    "Chris",
    "Jen",
    "Robert",
    "Patricia",
    "Tom",
    "Angela",
    "Kevin",
    "Donna",
    "Steve",
    "Lisa",
    "Brian",
    "Nancy",
    "Greg",
    "Michelle",
    "Paul",
    "Debbie",
    "Jason",
    "Carol",
    "Mark",
    "Tina",
    "Eric",
    "Rachel",
    "Gary",
)
HANDLES = (
    "Amazon Customer",
    "BackPainDad",
    "runner_mom",
    "HikerJoe",
    "Nurse Kelly",
    "T.J.",
    "shopper",
    "OldGuitarist",
    "desk_worker",
    "Grandpa Ed",
)

OPENERS = {
    "good": (
        "I've had lower back pain for {years} years and this {noun} actually helps.",
        "After {weeks} weeks of daily use my back feels so much looser.",
        "My physical therapist recommended this {noun} and it was worth it.",
        "Bought this for my husband's sciatica and he uses it every morning.",
    ),
    "mixed": (
        "It does what it says, mostly.",
        "Some relief for my back, but not the miracle the ads promise.",
        "I have mixed feelings about this {noun} after {weeks} weeks.",
    ),
    "bad": (
        "This {noun} did nothing for my back pain.",
        "I wanted to like it but it made my back pain worse.",
        "Returned it after {weeks} weeks.",
    ),
}
ASPECTS = {
    "good": (
        "Build quality is solid, it feels sturdy even at {weight} lbs.",
        "Assembly took about {minutes} minutes with the included tools.",
        "The padding is comfortable and it fits my height well.",
        "It's quiet, no squeaking at all.",
        "Great value for the price compared to the big names.",
        "Customer service answered my question the same day.",
        "Easy to store when I'm not using it.",
    ),
    "bad": (
        "The padding is thin and it digs into my back.",
        "Assembly instructions were confusing and two bolts were missing.",
        "It creaks and squeaks every time I use it.",
        "Feels flimsy, I would not trust it near the {weight} lb limit.",
        "Customer service never answered my emails.",
        "Overpriced for what you get.",
        "It doesn't fit well if you're on the tall side.",
    ),
}
CLOSERS = {
    "good": ("Highly recommend.", "Would buy again.", "Five stars from me.", "Glad I bought it."),
    "mixed": ("Okay for the price.", "Might work better for someone else.", "Three stars."),
    "bad": ("Save your money.", "Not recommended.", "Very disappointed."),
}
TITLES = {
    5: ("Life saver for my back", "Works great", "Best purchase this year", "Finally some relief"),
    4: ("Good product", "Helps my lower back", "Solid, with one small issue", "Pretty good"),
    3: ("It's okay", "Mixed feelings", "Does the job, barely", "Average"),
    2: ("Not great", "Disappointed", "Cheaply made", "Didn't help much"),
    1: ("Waste of money", "Broke after a week", "Do not buy", "Made my back worse"),
}


@dataclass(frozen=True, slots=True)
class GeneratedReview:
    """One review as a store shows it; the same (seed, listing, index) gives the same review."""

    review_id: str  # stable, unique per store
    number: int  # a numeric id for stores that use one (WooCommerce comments, Walmart)
    author: str
    rating: int
    title: str
    body: str
    date: dt.datetime
    verified: bool
    helpful_votes: int


def review_at(seed: int, listing: StoreListing, index: int) -> GeneratedReview:
    """The review at this position (0 = newest) of a listing."""
    if not 0 <= index < listing.review_count:
        raise IndexError(index)
    rng = random.Random(f"review:{seed}:{listing.store}:{listing.key}:{index}")
    rating = listing.stars_of(index)
    mood = "good" if rating >= 4 else "mixed" if rating == 3 else "bad"
    product = listing.product
    fill = {
        "noun": product.noun.lower(),
        "years": rng.randrange(2, 20),
        "weeks": rng.randrange(2, 9),
        "weight": product.weight_lb,
        "minutes": rng.choice((15, 20, 30, 45, 60)),
    }
    sentences = [rng.choice(OPENERS[mood])]
    if mood == "mixed":
        sentences += [rng.choice(ASPECTS["good"]), rng.choice(ASPECTS["bad"])]
    else:
        sentences += rng.sample(ASPECTS[mood], rng.randrange(1, 3))
        if rating == 4:
            sentences.append(rng.choice(ASPECTS["bad"]))
    sentences.append(rng.choice(CLOSERS[mood]))
    # Newest first: the index walks back through two years, with jitter inside its slot.
    days_ago = int((index + rng.random()) * REVIEW_SPAN_DAYS / listing.review_count)
    date = dt.datetime.combine(
        dt.date.fromordinal(REVIEW_END_DATE_ORDINAL - days_ago),
        dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60)),
    )
    digest = hashlib.blake2b(
        f"{seed}:{listing.store}:{listing.key}:{index}".encode(), digest_size=10
    ).digest()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    review_id = "R" + "".join(alphabet[b % 36] for b in digest[:13]) + alphabet[index % 36]
    helpful = 0 if rng.random() < 0.55 else int(rng.paretovariate(1.3))
    return GeneratedReview(
        review_id=review_id,
        number=listing.first_comment_id + index
        if listing.first_comment_id
        else int.from_bytes(digest[:6], "big") % 900_000_000 + 100_000_000,
        author=_author(rng),
        rating=rating,
        title=rng.choice(TITLES[rating]),
        body=" ".join(sentences).format(**fill),
        date=date,
        verified=rng.random() < (0.88 if rating >= 3 else 0.7),
        helpful_votes=helpful,
    )


def reviews_page(
    seed: int, listing: StoreListing, page: int, per_page: int
) -> list[GeneratedReview]:
    """Reviews on page `page` (1-based); empty past the last page."""
    start = (page - 1) * per_page
    stop = min(start + per_page, listing.review_count)
    return [review_at(seed, listing, i) for i in range(max(start, 0), stop)]


def page_count(listing: StoreListing, per_page: int) -> int:
    return max(1, -(-listing.review_count // per_page))


def _author(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return rng.choice(HANDLES)
    return f"{rng.choice(FIRST_NAMES)} {rng.choice('ABCDEFGHJKLMNPRSTW')}."
