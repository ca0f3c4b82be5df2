"""compose.yaml and the Dockerfile: valid, and every command and variable they use is one backrank reads."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from backrank.app import cli
from backrank.app.refresh import DB_VARIABLE
from backrank.core.store.target import STATE_DIR_VARIABLE

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_has_redis_postgres_workers_and_a_scheduler(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"redis", "postgres", "worker", "scheduler"}
    assert services["redis"]["image"].startswith("redis:")
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["worker"]["deploy"]["replicas"] == "${WORKERS:-3}"
    for name in ("worker", "scheduler"):
        service = services[name]
        assert service["build"] == "."
        assert set(service["depends_on"]) == {"redis", "postgres"}
        environment = service["environment"]
        assert environment["BACKRANK_DB"].startswith("postgresql+psycopg://backrank:")
        assert environment["BACKRANK_DB"].endswith("@postgres:5432/backrank")
        assert environment["BACKRANK_REDIS"] == "redis://redis:6379/0"
        assert set(environment) >= {DB_VARIABLE, "BACKRANK_REDIS", STATE_DIR_VARIABLE}


def test_compose_commands_are_ones_the_cli_accepts(compose: dict, monkeypatch) -> None:
    monkeypatch.setenv("BACKRANK_REDIS", "redis://redis:6379/0")
    parser = cli.build_parser()
    worker = parser.parse_args(compose["services"]["worker"]["command"])
    assert (worker.handler, worker.forever, worker.redis) == (
        cli.cmd_worker, True, "redis://redis:6379/0",
    )  # fmt: skip
    script = compose["services"]["scheduler"]["command"][0]
    refresh_line = re.search(r"backrank (refresh [^;]+);", script).group(1)
    refresh = parser.parse_args(shlex.split(refresh_line))
    assert refresh.handler == cli.cmd_refresh and refresh.workers == 0
    assert refresh.redis == "redis://redis:6379/0"  # from BACKRANK_REDIS, as in the container
    mounts = compose["services"]["scheduler"]["volumes"]
    assert f"./catalog.toml:{refresh.catalog}:ro" in mounts


def test_dockerfile_installs_the_package_and_runs_the_cli() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "pip install --no-cache-dir -e ." in dockerfile
    assert 'ENTRYPOINT ["backrank"]' in dockerfile
    for folder in ("backrank", "spiders", "pipelines", "reports", "templates"):
        assert f"COPY {folder} ./{folder}" in dockerfile
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "*.db"} <= set(ignored)
