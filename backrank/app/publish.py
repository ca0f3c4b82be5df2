"""`backrank publish wordpress`: credentials, the publish itself, its table and its report."""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from backrank.app.refresh import EXIT_FAILED, EXIT_OK, EXIT_WARNINGS, Context, StepOutcome
from backrank.core.store import Store
from reports.wordpress.publish import PublishResult, publish, wanted_content
from reports.wordpress.rest import WordPressClient, WordPressError
from spiders.refresh_report import read_report, write_report

USER_VARIABLE = "BACKRANK_WP_USER"
PASSWORD_VARIABLE = "BACKRANK_WP_APP_PASSWORD"


class PublishSetupError(Exception):
    """Something the publish needs is missing (no URL, no credentials): one line, exit 2."""


def site_url(context: Context, url: str | None) -> str:
    chosen = url or context.catalog.wordpress.url
    if not chosen:
        raise PublishSetupError(
            "no WordPress site: add `url` to the catalog's [wordpress] table, or pass --url"
        )
    return chosen.rstrip("/")


def credentials(context: Context) -> tuple[str, str]:
    """The user and application password: $BACKRANK_WP_USER / $BACKRANK_WP_APP_PASSWORD, else
    the credentials file the catalog's [wordpress] table names. Never printed."""
    user, password = os.environ.get(USER_VARIABLE), os.environ.get(PASSWORD_VARIABLE)
    if user and password:
        return user, password
    path = context.catalog.wordpress.credentials
    if path is None:
        raise PublishSetupError(
            f"no WordPress credentials: set {USER_VARIABLE} and {PASSWORD_VARIABLE}, or point "
            "[wordpress] credentials at a file with `user` and `application_password`"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PublishSetupError(
            f"cannot read the credentials file {path}: {error.strerror}"
        ) from None
    except tomllib.TOMLDecodeError:
        raise PublishSetupError(
            f'the credentials file {path} is not TOML (user = "...", application_password = "...")'
        ) from None
    user, password = data.get("user"), data.get("application_password")
    if not isinstance(user, str) or not isinstance(password, str) or not user or not password:
        raise PublishSetupError(
            f"the credentials file {path} needs `user` and `application_password` strings"
        )
    return user, password


def client_for(context: Context, url: str | None) -> WordPressClient:
    user, password = credentials(context)
    return WordPressClient(
        site_url(context, url), user, password, timeout=context.catalog.wordpress.timeout
    )


def steps_table(result: PublishResult) -> Table:
    verb = "would" if result.dry_run else "did"
    table = Table(
        title=f"WordPress publish to {result.url} ({'dry run' if result.dry_run else 'done'})"
    )
    table.add_column("pattern")
    table.add_column("slug")
    table.add_column(f"{verb}")
    table.add_column("error")
    for step in result.steps:
        if step.action == "unchanged" and not result.dry_run:
            continue
        table.add_row(
            step.title,
            step.slug,
            step.action,
            step.error or "",
            style="red" if step.action == "failed" else None,
        )
    return table


def summary_line(result: PublishResult) -> str:
    if result.dry_run:
        counts = {
            a: sum(1 for s in result.steps if s.action == a)
            for a in ("create", "update", "retire", "unchanged")
        }
        return (
            f"publish wordpress (dry run): would create {counts['create']}, update "
            f"{counts['update']}, retire {counts['retire']}, leave {counts['unchanged']} alone"
        )
    return (
        f"publish wordpress: {result.count('created')} created, {result.count('updated')} "
        f"updated, {result.count('retired')} retired, {result.count('unchanged')} unchanged, "
        f"{result.count('failed')} failed, {result.count('skipped')} not attempted"
    )


def attach_to_report(db_path: Any, result: PublishResult) -> None:
    """Put the publish into the latest refresh report (its WordPress section)."""
    with Store.open(db_path) as store:
        run_id = store.last_run_id(status=None)
    if run_id is None:
        return
    report = read_report(db_path, run_id)
    if report is None:
        return
    report["wordpress"] = result.summary()
    write_report(report, db_path)


def publish_step(
    context: Context, target: str, *, url: str | None = None, dry_run: bool = False,
    now: datetime | None = None,
) -> StepOutcome:  # fmt: skip
    """Publish the scored store to ``target`` (a name in TARGETS); the exit status says how
    it went."""
    if target not in TARGETS:
        raise PublishSetupError(
            f"unknown publishing target {target!r} (known: {', '.join(TARGETS)})"
        )
    return TARGETS[target](context, url=url, dry_run=dry_run, now=now)


def publish_wordpress(
    context: Context, *, url: str | None, dry_run: bool, now: datetime | None
) -> StepOutcome:
    """The WordPress target: synced patterns (and pages) through the REST API."""
    moment = now or datetime.now(UTC)
    with Store.open(context.db_path) as store:
        if store.read_products().empty:
            summary = "publish: the store holds no scored products; run `backrank score` first"
            print(f"backrank: {summary}", file=sys.stderr)
            return StepOutcome(EXIT_FAILED, summary)
        wanted = wanted_content(context.catalog, store, moment)
    with client_for(context, url) as client:
        try:
            settings = context.catalog.wordpress
            result = publish(
                client, wanted, dry_run=dry_run, pages=settings.pages, parent=settings.parent_page
            )
        except WordPressError as error:  # before any write: login, role, REST API, network
            summary = f"publish wordpress: {error}"
            print(f"backrank: {summary}", file=sys.stderr)  # one line, even with --quiet
            return StepOutcome(EXIT_FAILED, summary)
    if dry_run or not context.quiet:
        Console(stderr=False, width=None if sys.stdout.isatty() else 200).print(steps_table(result))
    summary = summary_line(result)
    print(summary)
    if result.stopped:
        # stderr, one line each, even with --quiet: cron mails it
        print(
            f"backrank: publish stopped: {result.stopped}; run it again to finish", file=sys.stderr
        )
    for step in result.steps:
        if step.action == "failed" and step.error != result.stopped:
            print(f"backrank: {step.slug}: {step.error}", file=sys.stderr)
    if not dry_run:
        attach_to_report(context.db_path, result)
    if result.stopped:
        return StepOutcome(EXIT_FAILED, summary)
    return StepOutcome(EXIT_OK if result.ok else EXIT_WARNINGS, summary)


# Publishing targets besides the static site `build` writes, by the name the CLI takes.
TARGETS: dict[str, Callable[..., StepOutcome]] = {"wordpress": publish_wordpress}
