"""A small client for WordPress's REST API (``/wp/v2``) with application-password auth.

Requests go to ``?rest_route=/wp/v2/...``, which works whatever the site's permalinks are. Every
answer must be JSON: a security plugin that closes the API answers an HTML page (often 404),
and a POST there "succeeds" while creating nothing. The password is never put in a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

USER_AGENT = "backrank (+https://github.com/backrank)"
PER_PAGE = 100


class WordPressError(Exception):
    """A WordPress call that failed, as one line a site owner can act on."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class NotAuthorized(WordPressError):
    """Wrong user or application password (401), or application passwords are off."""


class Forbidden(WordPressError):
    """The user's role may not do this (403)."""


class RestClosed(WordPressError):
    """The site answers without JSON where its REST API should be."""


class Unreachable(WordPressError):
    """No answer: the site is down, the address is wrong, or it timed out."""


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total_pages: int


class WordPressClient:
    """One site's REST API. ``user``/``password`` may be None for public reads."""

    def __init__(
        self, url: str, user: str | None = None, password: str | None = None,
        timeout: float = 30.0,
    ) -> None:  # fmt: skip
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        if user and password:
            self.session.auth = (user, password)
        self.authenticated = bool(user and password)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> WordPressClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the calls -------------------------------------------------------------------

    def call(
        self, method: str, route: str, params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> requests.Response:  # fmt: skip
        """One request to ``route`` (``/wp/v2/blocks``); a non-2xx or non-JSON answer raises."""
        query = {"rest_route": route, **(params or {})}
        where = f"{method} {route}"
        try:
            response = self.session.request(
                method, self.url + "/", params=query, json=body, timeout=self.timeout
            )
        except requests.Timeout:
            raise Unreachable(
                f"{self.url} did not answer {where} within {self.timeout:g} s"
            ) from None
        except requests.RequestException as error:
            raise Unreachable(f"cannot reach {self.url} ({type(error).__name__})") from None
        data = _json(response)
        if data is None:
            raise RestClosed(
                f"{self.url} answered {where} with HTTP {response.status_code} and "
                f"{_kind(response)}, not JSON: its REST API is disabled (a security plugin?) "
                "or this is not a WordPress address",
                status=response.status_code,
            )
        if response.status_code >= 400:
            code = data.get("code") if isinstance(data, dict) else None
            message = data.get("message") if isinstance(data, dict) else None
            detail = f"HTTP {response.status_code} {code or ''}".strip()
            if message:
                detail += f": {_plain(str(message))}"
            if response.status_code == 401:
                raise NotAuthorized(f"{where}: {detail}", status=response.status_code, code=code)
            if response.status_code == 403:
                raise Forbidden(f"{where}: {detail}", status=response.status_code, code=code)
            raise WordPressError(f"{where}: {detail}", status=response.status_code, code=code)
        return response

    def get(self, route: str, **params: Any) -> Any:
        return self.call("GET", route, params).json()

    def pages(self, route: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page by page to the last (``X-WP-TotalPages``)."""
        number = 1
        while True:
            response = self.call("GET", route, {**params, "per_page": PER_PAGE, "page": number})
            items = response.json()
            if not isinstance(items, list):
                raise RestClosed(f"{self.url}: {route} did not answer a list")
            yield from items
            total = int(response.headers.get("X-WP-TotalPages") or 1)
            if number >= total or not items:
                return
            number += 1

    def create(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", route, body=body).json()

    def update(self, route: str, object_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", f"{route}/{int(object_id)}", body=body).json()

    def delete(self, route: str, object_id: int) -> None:
        """Delete for good (not to the trash); only ever used on an object just created."""
        self.call("DELETE", f"{route}/{int(object_id)}", {"force": "true"})

    # --- who am I ---------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The authenticated user with roles and capabilities; explains a 401 when it can."""
        try:
            return self.get("/wp/v2/users/me", context="edit")
        except NotAuthorized as error:
            raise NotAuthorized(
                f"WordPress at {self.url} refused the user and application password "
                f"({error}): check BACKRANK_WP_USER / BACKRANK_WP_APP_PASSWORD or the "
                f"credentials file{self._application_passwords_hint()}",
                status=error.status, code=error.code,
            ) from None  # fmt: skip

    def _application_passwords_hint(self) -> str:
        """Why a right password may still be refused: the site does not take them at all."""
        try:
            index = self.get("/")
        except WordPressError:
            return ""
        if isinstance(index, dict) and "application-passwords" not in (
            index.get("authentication") or {}
        ):
            return (
                "; this site does not accept application passwords at all (they need HTTPS, "
                "or WP_ENVIRONMENT_TYPE 'local' on plain HTTP, and no plugin turning them off)"
            )
        return ""


def _json(response: requests.Response) -> Any:
    """The JSON body, or None when the answer is not JSON (an HTML page, say)."""
    kind = response.headers.get("Content-Type", "")
    if "json" not in kind:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _kind(response: requests.Response) -> str:
    kind = response.headers.get("Content-Type", "").split(";")[0].strip()
    if not kind:
        return "no content type"
    return "an HTML page" if kind == "text/html" else kind


def _plain(text: str, limit: int = 200) -> str:
    """A server message as one short line (they may hold HTML)."""
    flat = " ".join(re.sub(r"<[^>]+>", "", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
