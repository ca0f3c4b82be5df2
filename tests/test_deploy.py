"""compose.yaml and the Dockerfile: valid, and every command and variable they use is one backrank reads."""

from __future__ import annotations

import re
import shlex
import subprocess
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


@pytest.fixture
def fake_backrank(tmp_path: Path) -> Path:
    """A bin folder whose `backrank` exits with $FAKE_EXIT and whose `sleep` ends the loop."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "backrank").write_text('#!/bin/sh\nexit "$FAKE_EXIT"\n', encoding="utf-8")
    (bin_dir / "sleep").write_text("#!/bin/sh\nkill -TERM $PPID\n", encoding="utf-8")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return bin_dir


def compose_shell(text: str, root: Path) -> str:
    """A compose command as the container's shell runs it: ``$$`` unescaped, /srv/backrank/
    (the mounts) moved under ``root``."""
    return text.replace("$$", "$").replace("/srv/backrank/", f"{root}/")


@pytest.mark.parametrize(
    ("status", "logged", "stream", "healthy"),
    [
        (0, "refresh ok", "stdout", True),
        (1, "WARNING: refresh finished with warnings (exit 1), site rebuilt", "stdout", True),
        (2, "ERROR: refresh failed (exit 2), the last good site stays", "stderr", False),
    ],
)
def test_the_scheduler_logs_warnings_and_turns_unhealthy_on_failure(
    compose: dict, tmp_path: Path, fake_backrank: Path, status, logged, stream, healthy
) -> None:
    """The scheduler's own loop and healthcheck, run by sh on each exit status of a refresh."""
    (tmp_path / "state").mkdir()
    env = {"PATH": f"{fake_backrank}:/usr/bin:/bin", "FAKE_EXIT": str(status),
           "REFRESH_INTERVAL": "60"}  # fmt: skip
    scheduler = compose["services"]["scheduler"]
    script = compose_shell(scheduler["command"][0], tmp_path)
    run = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert logged in getattr(run, stream)
    assert (tmp_path / "state" / "last-refresh-exit").read_text().strip() == str(status)
    kind, check = scheduler["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    health = subprocess.run(["sh", "-c", compose_shell(check, tmp_path)], env=env, timeout=30)
    assert (health.returncode == 0) is healthy


def systemd_unit() -> dict[str, str]:
    """The documented backrank-refresh.service, as ``{key: value}`` (last one wins)."""
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    unit = re.search(r"backrank-refresh\.service`:\n\n```ini\n(.*?)```", text, re.S).group(1)
    return dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and line[0] not in "#;"
    )


@pytest.mark.parametrize(("status", "warned"), [(0, False), (1, True), (2, False)])
def test_systemd_treats_1_as_success_with_a_journal_warning(status: int, warned: bool) -> None:
    unit = systemd_unit()
    assert unit["SuccessExitStatus"].split() == ["1"]  # 2 stays a failure: the unit goes red
    assert unit["ExecStart"].split()[1] == "refresh"
    command = shlex.split(unit["ExecStopPost"].replace("$$", "$"))  # systemd's own unescaping
    ran = subprocess.run(
        command, env={"EXIT_STATUS": str(status), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert ran.returncode == 0
    # "<4>": the journal files the line at warning priority (SyslogLevelPrefix, on by default)
    assert ran.stdout.startswith("<4>backrank refresh finished with warnings") is warned
