"""Render keys: a digest per page that changes whenever anything its rendered text depends on does."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from reports.context import Page, SiteInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CODE_DIR = Path(__file__).resolve().parent


@cache
def code_fingerprint() -> str:
    """A hash of the reports package's source: a change in how views are built re-renders all."""
    digest = hashlib.sha256()
    for path in sorted(_CODE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def digest(*parts: object) -> str:
    """A short stable digest of plain parts (strings, numbers, None, tuples of them)."""
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:32]


def key_prefix(site: SiteInfo, templates_fingerprint: str) -> bytes:
    """What every page depends on: templates, code and site info (the build time left out:
    templates show it only through page data, ``built_at``)."""
    return (
        templates_fingerprint.encode()
        + code_fingerprint().encode()
        + pickle.dumps(replace(site, generated_at=_EPOCH), 5)
    )


def inputs_key(prefix: bytes, path: str, inputs: str) -> str:
    """The render key of the page at ``path`` whose data has the digest ``inputs``."""
    return hashlib.sha256(
        prefix + b"\0inputs\0" + path.encode() + b"\0" + inputs.encode()
    ).hexdigest()


def page_key(prefix: bytes, page: Page) -> str:
    """The page's render key: from its ``inputs`` digest when it has one, else from its pickle."""
    if page.inputs is not None:
        return inputs_key(prefix, page.path, page.inputs)
    # pickle is a fast, deterministic serialisation of the frozen views (same code, same bytes)
    return hashlib.sha256(prefix + pickle.dumps(page, 5)).hexdigest()
