"""Customer reviews of the demo listings, generated on demand, one at a time, never all at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass

from backrank.marketplace.catalog import (
    HOSTILE_REVIEW_INDEX,
    REVIEW_END_DATE_ORDINAL,
    REVIEW_SPAN_DAYS,
    XSS_REVIEW_BODY,
    XSS_REVIEW_TITLE,
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
INITIALS = "ABCDEFGHJKLMNPRSTW"
# Shill accounts that review one brand only, and one-off accounts, are named unlike regulars.
SHILL_WORDS = ("Happy", "Honest", "Daily", "Smart", "Real", "Top", "Quick", "True")
SHILL_NOUNS = ("Buyer", "Shopper", "Reviewer", "Mom", "Dad", "Customer", "Fan", "Tester")
ONE_OFF_SHARE = 0.08  # of natural reviews: people who review once and never again
# A hostile review is voted up, so a site quoting the most helpful reviews first shows it.
HOSTILE_HELPFUL_VOTES = 480

# Review sentences are templates with slots filled per review from SLOTS, so two natural reviews
# rarely share a run of words (near-duplicate phrasing is a planted pattern, not an accident).
SLOTS = {
    "condition": (
        "lower back pain",
        "sciatica",
        "a bulging disc",
        "stiff lumbar muscles",
        "upper back tension",
        "a herniated disc",
        "chronic back aches",
        "spinal stenosis",
        "a pinched nerve",
        "neck and shoulder pain",
    ),
    "event": (
        "a car accident",
        "back surgery",
        "my second pregnancy",
        "years of lifting at work",
        "a fall on the ice",
        "marathon training",
        "a long desk job",
        "moving house",
    ),
    "helps": (
        "actually helps",
        "takes the edge off",
        "has made a real difference",
        "gives me real relief",
        "loosens everything up",
        "was a game changer",
        "does the trick",
    ),
    "freq": (
        "every morning",
        "twice a day",
        "most evenings",
        "three times a week",
        "after every run",
        "on weekends",
        "whenever it flares up",
    ),
    "when": (
        "before bed",
        "after work",
        "while watching TV",
        "right after my shower",
        "before my shift",
        "after the gym",
        "during lunch breaks",
    ),
    "part": ("padding", "frame", "strap", "buckle", "foam", "handle", "base", "stitching"),
    "good_part": (
        "feels sturdy",
        "is comfortable",
        "holds up well",
        "is well made",
        "is better than I expected",
        "looks solid",
        "has not worn at all",
    ),
    "bad_part": (
        "feels cheap",
        "started to fray",
        "digs into my back",
        "came loose",
        "squeaks constantly",
        "cracked",
        "is thinner than pictured",
    ),
    "who": ("my husband", "my wife", "my dad", "my sister", "my neighbor", "a coworker"),
    "helper": (
        "with the included tools",
        "on my own",
        "with some help",
        "following the video",
        "without reading the manual",
        "with a borrowed wrench",
    ),
    "therapist": ("physical therapist", "chiropractor", "doctor", "trainer", "yoga teacher"),
    "packed": ("well packed", "in a dented box", "double boxed", "with every part labelled"),
    "height": ("5'2\"", "5'5\"", "5'8\"", "5'11\"", "6'1\"", "6'4\""),
    "verdict_good": (
        "Highly recommend",
        "Would buy again",
        "Five stars from me",
        "Glad I bought it",
        "Worth every penny",
        "Wish I had bought it sooner",
        "No regrets",
    ),
    "verdict_bad": (
        "Save your money",
        "Not recommended",
        "Very disappointed",
        "Look elsewhere",
        "Returning it",
        "Cannot recommend",
    ),
    "verdict_mixed": (
        "Okay for the price",
        "Might work better for someone else",
        "Three stars",
        "Keeping it, but barely",
        "Fine, not great",
    ),
}
# Each sentence has a slot every few words: shared runs of three words stay rare.
SLOTS |= {
    "i_have": (
        "I've had",
        "I have dealt with",
        "I've suffered from",
        "I've been living with",
        "I struggle with",
        "I've battled",
        "I keep fighting",
    ),
    "since": (
        "for {years} years",
        "since {event}",
        "ever since {event}",
        "on and off for {years} years",
        "most of my adult life",
        "since my thirties",
        "for over a decade",
    ),
    "this": ("this {noun}", "this thing", "this gadget", "it", "the {noun}", "this one"),
    "tried": (
        "I was skeptical, but",
        "Honestly,",
        "To my surprise,",
        "Long story short,",
        "Not gonna lie,",
        "After a rough start,",
    ),
    "span": ("{weeks} weeks in", "after {days} days", "within a week", "by the second week"),
    "some": ("Some relief", "A bit of relief", "Mild relief", "Modest help", "Slight relief"),
    "but_not": (
        "but not the miracle the ads promise",
        "though nothing dramatic",
        "yet far from a cure",
        "but I hoped for more",
        "not a fix though",
    ),
    "did_nothing": (
        "did nothing for",
        "made no difference to",
        "only aggravated",
        "never helped",
        "barely touched",
    ),
    "use": ("I use it", "We use it", "I get on it", "I hang on it", "I stretch on it"),
    "about": ("about", "roughly", "around", "maybe", "close to"),
    "assembly": ("Assembly took", "Setup took", "Putting it together took", "Install took"),
    "it_adjusts": (
        "it adjusts to me without trouble",
        "it fits me fine",
        "the sizing works for me",
        "I had no fit issues",
        "it suits my frame",
    ),
    "arrived": ("It arrived", "Delivery came", "The box showed up", "Shipping was"),
    "early": ("{days} days early", "on time", "a day late", "quickly"),
    "missing": (
        "two bolts were missing",
        "a screw was missing",
        "the manual was useless",
        "a part was bent",
    ),
    "service": ("Customer service", "Support", "The seller", "Their help desk"),
    "answer": ("took {days} days to answer", "never replied", "was rude", "sent the wrong part"),
}
OPENERS = {
    "good": (
        "{i_have} {condition} {since} and {this} {helps}.",
        "{tried} {span} {this} {helps} with my {condition}.",
        "My {therapist} suggested {this} for {condition} and it {helps}.",
        "Bought {this} for {who}, who has {condition}; it {helps}.",
    ),
    "mixed": (
        "{some} for {condition}, {but_not}.",
        "{i_have} {condition} {since}; {this} helps {when}, {but_not}.",
        "{who} likes {this} more than I do, {but_not}.",
    ),
    "bad": (
        "{this} {did_nothing} my {condition} {span}.",
        "{i_have} {condition} {since} and {this} {did_nothing} it.",
        "Bought {this} for {who} and it went back {span}.",
    ),
}
ASPECTS = {
    "good": (
        "{use} {freq} for {about} {minutes} minutes {when}.",
        "{assembly} {about} {minutes} minutes {helper}.",
        "The {part} {good_part}, even at {weight} lbs.",
        "At {height}, {it_adjusts}.",
        "{who} tried it {when} and ordered one too.",
        "{arrived} {early}, {packed}.",
    ),
    "bad": (
        "The {part} {bad_part} {span}.",
        "{assembly} {about} {minutes} minutes {helper} and {missing}.",
        "At {height}, {it_adjusts} only barely.",
        "{service} {answer}.",
        "I would not trust it near the {weight} lb limit {when}.",
    ),
}
CLOSERS = {
    "good": ("{verdict_good}.", "{verdict_good}, {who} agrees.", "{verdict_good}!"),
    "mixed": ("{verdict_mixed}.", "{verdict_mixed}, honestly."),
    "bad": ("{verdict_bad}.", "{verdict_bad}, sadly."),
}
# Planted texts: a disclosure, a brand's scripted praise, and short 5-star cheers.
DISCLOSURES = (
    "I received this product free in exchange for my honest review.",
    "I received this product at a discount in exchange for my honest review.",
    "Disclaimer: I got this {noun} free of charge for testing and review.",
    "I was sent this {noun} at no cost in exchange for my unbiased opinion.",
)
SCRIPT = (
    "The {brand} {noun} is the best back care product I have ever owned and it relieved "
    "my back pain within {days} days. The quality is outstanding and setup was effortless. "
    "I recommend {brand} to anyone who suffers from back pain."
)
SCRIPT_SWAPS = (("best", "finest"), ("outstanding", "excellent"), ("effortless", "simple"))
SHORT_CHEERS = (
    "Great!",
    "Love it!",
    "Amazing product.",
    "Works great, highly recommend!",
    "Best purchase ever.",
    "Perfect!!",
    "Excellent, five stars.",
    "So good.",
)
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
    planted = listing.is_planted(index)
    pattern = listing.pattern if planted else None
    product = listing.product
    fill = {slot: rng.choice(options) for slot, options in SLOTS.items()}
    fill |= {
        "noun": product.noun.lower(),
        "brand": product.brand,
        "years": rng.randrange(2, 20),
        "weeks": rng.randrange(2, 9),
        "days": rng.randrange(2, 8),
        "weight": product.weight_lb,
        "minutes": rng.choice((10, 15, 20, 30, 45, 60)),
    }
    # twice: a slot's text may hold slots of its own ("since {event}")
    body = " ".join(_sentences(rng, rating, pattern)).format(**fill).format(**fill)
    body = body[0].upper() + body[1:]
    # Newest first: the index walks back through two years, with jitter inside its slot.
    days_ago = int((index + rng.random()) * REVIEW_SPAN_DAYS / listing.review_count)
    if pattern == "burst":  # dozens of five-star reviews on one day
        days_ago = int(listing.planted_start * REVIEW_SPAN_DAYS / listing.review_count)
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
    verified = rng.random() < (0.88 if rating >= 3 else 0.78)
    if pattern == "unverified_boost":
        verified = False
    author = _author(rng, listing, index, pattern, digest)
    title = rng.choice(TITLES[rating])  # after the author: the rng order keeps reviews as they were
    if listing.hostile and index == HOSTILE_REVIEW_INDEX:
        title, body = f"{XSS_REVIEW_TITLE} {title}", f"{XSS_REVIEW_BODY} {body}"
        verified, helpful = True, HOSTILE_HELPFUL_VOTES
    return GeneratedReview(
        review_id=review_id,
        number=listing.first_comment_id + index
        if listing.first_comment_id
        else int.from_bytes(digest[:6], "big") % 900_000_000 + 100_000_000,
        author=author,
        rating=rating,
        title=title,
        body=body,
        date=date,
        verified=verified,
        helpful_votes=helpful,
    )


def hostile_truth(seed: int, listing: StoreListing, url: str) -> dict:
    """What a hostile listing shows, payloads included, as plain JSON-able data."""
    review = review_at(seed, listing, HOSTILE_REVIEW_INDEX) if listing.review_count else None
    return {
        "store": listing.store,
        "url": url,
        "product_id": listing.product.product_id,
        "title": listing.title,
        "brand": listing.product.brand,
        "review_title": None if review is None else review.title,
        "review_body": None if review is None else review.body,
    }


def _sentences(rng: random.Random, rating: int, pattern: str | None) -> list[str]:
    """The sentences of a review body (with {placeholders} still to fill)."""
    if pattern == "short_five_star":
        return [rng.choice(SHORT_CHEERS)]
    if pattern == "repeated_phrasing":
        script = SCRIPT
        for plain, other in SCRIPT_SWAPS:
            if rng.random() < 0.3:
                script = script.replace(plain, other, 1)
        return [script]
    mood = "good" if rating >= 4 else "mixed" if rating == 3 else "bad"
    sentences = [rng.choice(OPENERS[mood])]
    if mood == "mixed":
        sentences += [rng.choice(ASPECTS["good"]), rng.choice(ASPECTS["bad"])]
    else:
        sentences += rng.sample(ASPECTS[mood], rng.randrange(1, 3))
        if rating == 4:
            sentences.append(rng.choice(ASPECTS["bad"]))
    sentences.append(rng.choice(CLOSERS[mood]))
    if pattern == "incentivised":
        sentences.insert(rng.choice((0, len(sentences))), rng.choice(DISCLOSURES))
    return sentences


def reviews_page(
    seed: int, listing: StoreListing, page: int, per_page: int
) -> list[GeneratedReview]:
    """Reviews on page `page` (1-based); empty past the last page."""
    start = (page - 1) * per_page
    stop = min(start + per_page, listing.review_count)
    return [review_at(seed, listing, i) for i in range(max(start, 0), stop)]


def page_count(listing: StoreListing, per_page: int) -> int:
    return max(1, -(-listing.review_count // per_page))


def _author(
    rng: random.Random, listing: StoreListing, index: int, pattern: str | None, digest: bytes
) -> str:
    """Who wrote the review: a regular of the store, a one-off account, or a brand's shill."""
    if pattern == "single_brand_reviewers":
        # the same accounts review the brand's planted listings in this store, and nothing else
        number = index - listing.planted_start
        return (
            f"{SHILL_WORDS[number % len(SHILL_WORDS)]}{SHILL_NOUNS[number // len(SHILL_WORDS) % 8]}"
            f"{number // 64 or ''}_{listing.product.brand.lower().replace(' ', '')}"
        )
    if pattern == "one_review_reviewers" or (pattern is None and rng.random() < ONE_OFF_SHARE):
        return f"{rng.choice(FIRST_NAMES).lower()}{int.from_bytes(digest[6:9], 'big') % 90_000 + 10_000}"
    return regular_reviewer(
        (listing.reviewer_offset + index * listing.reviewer_stride) % listing.reviewer_pool
    )


def regular_reviewer(number: int) -> str:
    """The display name of a store's regular reviewer number `number` (unique per number)."""
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    initial = INITIALS[number // len(FIRST_NAMES) % len(INITIALS)]
    generation = number // (len(FIRST_NAMES) * len(INITIALS))
    if generation == 0:
        return f"{first} {initial}."
    return f"{first.lower()}.{initial.lower()}{generation}"
