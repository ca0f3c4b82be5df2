"""The demo Creators API: Amazon's product API for Associates, as its client library sees it over HTTP.

An OAuth2 client-credentials token endpoint (``POST /auth/o2/token``, form-encoded as the
Cognito-backed 2.x versions send it, or JSON as the LWA-backed 3.x versions do) and
``POST /catalog/v1/getItems`` answering with lowerCamelCase ``itemsResult`` items and their
``offersV2`` listings for the demo Amazon store's ASINs. Its refusals are the real API's:
401 for a missing, unknown or expired token, 403 for an account without API access, 429
(with Retry-After) when called faster than the request rate, 400 for more than 10 items.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from backrank.marketplace.catalog import Catalog, StoreListing, money
from backrank.marketplace.response import Response

TOKEN_PATH = "/auth/o2/token"
GET_ITEMS_PATH = "/catalog/v1/getItems"
MARKETPLACE = "www.amazon.com"
MAX_ITEMS = 10  # the API's item limit per GetItems call
TOKEN_LIFETIME = 3600  # seconds, as Amazon's tokens
# Seconds between calls of one credential. Amazon starts an account at one call a second and
# allows more as its sales grow; the demo service allows ten, so a demo at scale stays quick.
REQUEST_INTERVAL = 0.1
SCOPES = ("creatorsapi/default", "creatorsapi::default")  # Cognito (2.x), LWA (3.x)

# The demo's credentials. They open nothing but this demo service.
DEMO_CREDENTIAL_ID = "backrank-demo-creators-id"
DEMO_CREDENTIAL_SECRET = "demo-secret-4f9c1e7a2b6d"  # distinctive, so tests can grep for it
DEMO_CREDENTIAL_VERSION = "2.1"
# An account that signed up but has not made its qualifying sales: every call is refused (403).
INELIGIBLE_CREDENTIAL_ID = "backrank-demo-new-associate"
INELIGIBLE_CREDENTIAL_SECRET = "demo-secret-new-associate-0d3b"


def _json(status: int, value: Any, headers: tuple[tuple[str, str], ...] = ()) -> ApiResponse:
    body = json.dumps(value, separators=(",", ":")).encode()
    return ApiResponse(status, "application/json", body, headers)


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """An answer of the API: a Response with headers (Retry-After on a 429)."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def response(self) -> Response:
        return Response(self.status, self.content_type, self.body)


@dataclass
class _Token:
    credential_id: str
    expires_at: float  # time.monotonic()


@dataclass
class CreatorsApi:
    """The demo service over a catalog's Amazon listings.

    ``token_lifetime`` is how long a token really works (seconds); the token endpoint always
    advertises Amazon's 3600 s, so a shorter lifetime is a token that expires early and the
    client must take the 401 and fetch a new one. ``request_interval`` is the least time
    between two GetItems calls of one credential; a faster call gets a 429. ``daily_quota``
    caps the GetItems calls a credential gets at all: past it every call is a 429.
    """

    catalog: Catalog
    store_base_url: str  # the demo Amazon store: the images are linked on it
    token_lifetime: float = TOKEN_LIFETIME
    request_interval: float = REQUEST_INTERVAL
    credentials: dict[str, str] = field(
        default_factory=lambda: {
            DEMO_CREDENTIAL_ID: DEMO_CREDENTIAL_SECRET,
            INELIGIBLE_CREDENTIAL_ID: INELIGIBLE_CREDENTIAL_SECRET,
        }
    )
    daily_quota: int | None = None
    # A listing the store delisted (a fault profile's) is gone from the API too.
    is_delisted: Callable[[StoreListing], bool] = lambda row: False
    tokens_issued: int = 0
    # (credential id, HTTP status, ASINs asked for) of every GetItems call, oldest first
    calls: list[tuple[str, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._last_call: dict[str, float] = {}
        self._lock = threading.Lock()
        self._by_asin = self.catalog.by_key["amazon"]

    # -- routing -----------------------------------------------------------------------------

    def route(self, path: str, query: dict[str, str]) -> Response:
        """GET: the API has no pages."""
        return _json(404, {"message": "Not Found"}).response

    def post(self, path: str, headers: dict[str, str], body: bytes) -> ApiResponse:
        if path == TOKEN_PATH:
            return self.token(headers, body)
        if path == GET_ITEMS_PATH:
            return self.get_items(headers, body)
        return _json(404, {"message": "Not Found"})

    # -- OAuth2 client credentials ----------------------------------------------------------

    def token(self, headers: dict[str, str], body: bytes) -> ApiResponse:
        form = _form(headers, body)
        if form.get("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type"})
        if form.get("scope") not in SCOPES:
            return _json(400, {"error": "invalid_scope"})
        credential_id = form.get("client_id", "")
        secret = self.credentials.get(credential_id)
        if secret is None or not secrets.compare_digest(secret, form.get("client_secret", "")):
            return _json(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = _Token(credential_id, time.monotonic() + self.token_lifetime)
            self.tokens_issued += 1
        return _json(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME}
        )

    # -- GetItems -------------------------------------------------------------------------

    def get_items(self, headers: dict[str, str], body: bytes) -> ApiResponse:
        credential_id, refusal = self._authorise(headers.get("authorization", ""))
        if refusal is not None:
            self._record(credential_id or "", refusal.status, body)
            return refusal
        assert credential_id is not None
        if credential_id == INELIGIBLE_CREDENTIAL_ID:
            self._record(credential_id, 403, body)
            return _json(
                403,
                {
                    "type": "AccessDeniedException",
                    "reason": "AssociateNotEligible",
                    "message": "Your account does not currently meet the eligibility "
                    "requirements to access the Creators API.",
                },
            )
        throttled = self._throttle(credential_id)
        if throttled is not None:
            self._record(credential_id, 429, body)
            return throttled
        try:
            request = json.loads(body or b"null")
        except ValueError:
            request = None
        problem = _request_problem(request, headers)
        if problem is not None:
            self._record(credential_id, 400, body)
            return _json(400, {"type": "ValidationException", **problem})
        self._record(credential_id, 200, body)
        return _json(200, self.items_answer(request["itemIds"], request.get("resources")))

    def _record(self, credential_id: str, status: int, body: bytes) -> None:
        try:
            asked = len(json.loads(body).get("itemIds") or [])
        except (ValueError, AttributeError, TypeError):
            asked = 0
        with self._lock:
            self.calls.append((credential_id, status, asked))

    def _authorise(self, header: str) -> tuple[str | None, ApiResponse | None]:
        """The caller's credential id from ``Bearer <token>[, Version <v>]``, or the 401."""
        scheme, _, rest = header.partition(" ")
        token = rest.split(",", 1)[0].strip()
        if scheme.lower() != "bearer" or not token:
            return None, _unauthorised("MissingCredential", "Missing Authentication Token")
        with self._lock:
            known = self._tokens.get(token)
            if known is not None and known.expires_at <= time.monotonic():
                del self._tokens[token]
                return known.credential_id, _unauthorised("TokenExpired", "The token has expired")
        if known is None:
            return None, _unauthorised("InvalidToken", "The token is not valid")
        return known.credential_id, None

    def _throttle(self, credential_id: str) -> ApiResponse | None:
        with self._lock:
            served = sum(
                1 for who, status, _ in self.calls if who == credential_id and status == 200
            )
            if self.daily_quota is not None and served >= self.daily_quota:
                return _json(
                    429,
                    {"type": "ThrottleException", "message": "Daily request quota exceeded"},
                    (("Retry-After", "1"),),
                )
            now = time.monotonic()
            last = self._last_call.get(credential_id)
            if last is not None and now - last < self.request_interval:
                wait = math.ceil(self.request_interval - (now - last))
                return _json(
                    429,
                    {"type": "ThrottleException", "message": "Rate exceeded"},
                    (("Retry-After", str(max(wait, 1))),),
                )
            self._last_call[credential_id] = now
        return None

    def items_answer(self, asins: list[str], resources: list[str] | None) -> dict[str, Any]:
        """The GetItems body: the known items in request order, an error for each unknown one."""
        items, errors = [], []
        for asin in asins:
            row = self._by_asin.get(asin)
            if row is None or self.is_delisted(row):
                errors.append(
                    {
                        "code": "InvalidParameterValue",
                        "message": f"The ItemId {asin} provided in the request is not valid.",
                    }
                )
                continue
            items.append(_select(self.item(row), resources))
        answer: dict[str, Any] = {"itemsResult": {"items": items}} if items else {}
        if errors:
            answer["errors"] = errors
        return answer

    def item(self, row: StoreListing) -> dict[str, Any]:
        """Everything the API knows of one listing, every resource included."""
        product = row.product
        image = f"{self.store_base_url}/images/I/{row.key}._SL500_.jpg"
        info: dict[str, Any] = {
            "title": {"displayValue": row.title, "label": "Title", "locale": "en_US"},
            "byLineInfo": {
                "brand": {"displayValue": product.brand, "label": "Brand", "locale": "en_US"},
                "manufacturer": {
                    "displayValue": product.brand,
                    "label": "Manufacturer",
                    "locale": "en_US",
                },
            },
            "features": {
                "displayValues": [s.strip() for s in product.description().split(". ") if s],
                "label": "Features",
                "locale": "en_US",
            },
        }
        if row.show_mpn:  # the store page prints "Item model number" for these only
            info["manufactureInfo"] = {
                "itemPartNumber": {
                    "displayValue": product.mpn,
                    "label": "PartNumber",
                    "locale": "en_US",
                },
                "model": {"displayValue": product.mpn, "label": "Model", "locale": "en_US"},
            }
        item: dict[str, Any] = {
            "asin": row.key,
            "detailPageURL": detail_page_url(row.key),
            "images": {
                "primary": {
                    "small": {"url": image.replace("_SL500_", "_SL75_"), "height": 75, "width": 75},
                    "medium": {
                        "url": image.replace("_SL500_", "_SL160_"),
                        "height": 160,
                        "width": 160,
                    },
                    "large": {"url": image, "height": 500, "width": 500},
                }
            },
            "itemInfo": info,
            "offersV2": {"listings": [_offer(row)]},
        }
        if row.review_count:
            item["customerReviews"] = {
                "count": row.review_count,
                "starRating": {"value": row.rating},
            }
        return item


def detail_page_url(asin: str) -> str:
    """The item's page on the marketplace, as the API gives it (the demo's ASINs are made up,
    so the page itself does not exist; the demo store's own pages are at other URLs)."""
    return f"https://{MARKETPLACE}/dp/{asin}?linkCode=ogi&th=1&psc=1"


def _offer(row: StoreListing) -> dict[str, Any]:
    """The buy-box offer of a listing; an unavailable one has no price."""
    if row.price_cents is None:
        return {
            "availability": {"type": "UNAVAILABLE", "message": "Currently unavailable."},
            "condition": {"value": "New"},
            "isBuyBoxWinner": False,
        }
    offer: dict[str, Any] = {
        "availability": (
            {"type": "IN_STOCK", "message": "In Stock", "minOrderQuantity": 1}
            if row.in_stock
            else {"type": "OUT_OF_STOCK", "message": "Temporarily out of stock."}
        ),
        "condition": {"value": "New"},
        "isBuyBoxWinner": True,
        "merchantInfo": {"name": "Amazon.com", "id": "ATVPDKIKX0DER"},
        "price": {"money": _money(row.price_cents)},
    }
    if row.list_price_cents is not None:
        offer["price"]["savingBasis"] = {
            "money": _money(row.list_price_cents),
            "savingBasisType": "LIST_PRICE",
            "savingBasisTypeLabel": "List Price",
        }
        saved = row.list_price_cents - row.price_cents
        offer["price"]["savings"] = {
            "money": _money(saved),
            "percentage": round(100 * saved / row.list_price_cents),
        }
    return offer


def _money(cents: int) -> dict[str, Any]:
    # The API sends amounts as JSON numbers; two decimals survive a float exactly as text.
    return {"amount": cents / 100, "currency": "USD", "displayAmount": money(cents)}


def _select(item: dict[str, Any], resources: list[str] | None) -> dict[str, Any]:
    """The item cut down to the requested resources (``offersV2.listings.price``, ...)."""
    if resources is None:
        return {"asin": item["asin"], "detailPageURL": item["detailPageURL"]}
    selected: dict[str, Any] = {"asin": item["asin"], "detailPageURL": item["detailPageURL"]}
    for resource in resources:
        _copy_path(item, selected, resource.split("."))
    return selected


def _copy_path(source: Any, target: dict[str, Any], path: list[str]) -> None:
    head, rest = path[0], path[1:]
    if not isinstance(source, dict) or head not in source:
        return
    value = source[head]
    if not rest:
        target[head] = value
    elif isinstance(value, list):
        existing = target.setdefault(head, [{} for _ in value])
        for part, into in zip(value, existing, strict=True):
            _copy_path(part, into, rest)
    else:
        _copy_path(value, target.setdefault(head, {}), rest)


def _unauthorised(reason: str, message: str) -> ApiResponse:
    return _json(401, {"type": "UnauthorizedException", "reason": reason, "message": message})


def _form(headers: dict[str, str], body: bytes) -> dict[str, str]:
    """The token request's fields: form-encoded (Cognito, 2.x) or JSON (LWA, 3.x)."""
    text = body.decode("utf-8", "replace")
    if "json" in headers.get("content-type", ""):
        try:
            value = json.loads(text)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
    return dict(parse_qsl(text, keep_blank_values=True))


def _request_problem(request: Any, headers: dict[str, str]) -> dict[str, Any] | None:
    """Why a GetItems request is invalid (the 400's reason and message), else None."""
    if not isinstance(request, dict):
        return {"reason": "CannotParse", "message": "The request body is not valid JSON."}
    if headers.get("x-marketplace") != MARKETPLACE:
        return {"reason": "Other", "message": f"Unknown marketplace; expected {MARKETPLACE}."}
    if not request.get("partnerTag"):
        return {"reason": "InvalidPartnerTag", "message": "The partnerTag is required."}
    ids = request.get("itemIds")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_ITEMS:
        return {
            "reason": "FieldValidationFailed",
            "message": f"itemIds must hold 1 to {MAX_ITEMS} ASINs.",
            "fieldList": [{"name": "itemIds", "message": f"1 to {MAX_ITEMS} items"}],
        }
    return None
