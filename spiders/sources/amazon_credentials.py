"""Creators API credentials: from the environment or the file a catalog's Amazon store names, never the catalog.

The secret is never printed: ``Credentials`` leaves it out of its repr, and the reasons given
for missing or unusable credentials name the variables and the file, never their values.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ENV_ID = "BACKRANK_AMAZON_CREDENTIAL_ID"
ENV_SECRET = "BACKRANK_AMAZON_CREDENTIAL_SECRET"
ENV_VERSION = "BACKRANK_AMAZON_CREDENTIAL_VERSION"
ENV_VARIABLES = (ENV_ID, ENV_SECRET, ENV_VERSION)
FILE_KEYS = ("credential_id", "credential_secret", "version")


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """One Creators API credential (Associates Central > Tools > Creators API)."""

    credential_id: str
    credential_secret: str = field(repr=False)
    version: str
    origin: str  # where they came from, for the report: "environment" or the file's name


@dataclass(frozen=True, kw_only=True)
class Lookup:
    """The credentials found, or why there are none (plain words, no secret in them)."""

    credentials: Credentials | None
    reason: str | None = None


def find_credentials(
    credentials_file: Path | None, environ: Mapping[str, str] | None = None
) -> Lookup:
    """Credentials from ``BACKRANK_AMAZON_CREDENTIAL_ID/_SECRET/_VERSION``, else from the
    store's ``credentials_file`` (TOML: credential_id, credential_secret, version)."""
    environ = os.environ if environ is None else environ
    values = {name: environ.get(name, "").strip() for name in ENV_VARIABLES}
    if any(values.values()):
        missing = [name for name, value in values.items() if not value]
        if missing:
            return Lookup(credentials=None, reason=f"{', '.join(missing)} not set")
        return Lookup(
            credentials=Credentials(
                credential_id=values[ENV_ID],
                credential_secret=values[ENV_SECRET],
                version=values[ENV_VERSION],
                origin="environment",
            )
        )
    if credentials_file is None:
        return Lookup(
            credentials=None,
            reason=f"no Creators API credentials ({ENV_ID}, {ENV_SECRET} and {ENV_VERSION} "
            "are not set and the store names no credentials_file)",
        )
    return _from_file(credentials_file)


def _from_file(path: Path) -> Lookup:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        return Lookup(credentials=None, reason=f"cannot read {path.name}: {error.strerror}")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        # the parser's message may quote the line, and the line may hold the secret
        return Lookup(credentials=None, reason=f"{path.name} is not valid TOML")
    values = {key: data.get(key) for key in FILE_KEYS}
    if isinstance(values["version"], int | float) and not isinstance(values["version"], bool):
        values["version"] = str(values["version"])  # version = 2.1 written as a number
    bad = [key for key, value in values.items() if not isinstance(value, str) or not value.strip()]
    if bad:
        return Lookup(credentials=None, reason=f"{path.name} has no {', '.join(bad)}")
    return Lookup(
        credentials=Credentials(
            credential_id=values["credential_id"].strip(),
            credential_secret=values["credential_secret"].strip(),
            version=values["version"].strip(),
            origin=path.name,
        )
    )
