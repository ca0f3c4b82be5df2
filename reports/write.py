"""Write rendered pages and static assets to a folder: atomically, and incrementally."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from reports.render import TEMPLATES_DIR

BUNDLED_STATIC = TEMPLATES_DIR / "static"
MANIFEST = ".backrank-manifest.json"


class UnsafePathError(ValueError):
    """A page path that would escape the output folder."""


@dataclass(frozen=True)
class WriteStats:
    """How many files were written anew and how many were carried over untouched."""

    written: int
    kept: int


def safe_relative(relative: str) -> str:
    """``relative`` when it is a plain relative POSIX path inside the site; else UnsafePathError."""
    if not relative or "\\" in relative or "\x00" in relative or relative.startswith("/"):
        raise UnsafePathError(f"unsafe page path {relative!r}")
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts) or ":" in parts[0]:  # ":": a drive or scheme
        raise UnsafePathError(f"unsafe page path {relative!r}")
    return relative


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative`` for a plain relative POSIX path; raise UnsafePathError otherwise."""
    return root.joinpath(*safe_relative(relative).split("/"))


def read_manifest(out_dir: str | Path) -> dict[str, dict[str, str]]:
    """The previous build's ``{path: {"sha256", "key"}}``; {} when there is none or it is unreadable."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged manifest only costs a full rewrite
    return manifest if isinstance(manifest, dict) else {}


def previous_keys(out_dir: str | Path, existing: bool = False) -> dict[str, str]:
    """The render key of every page in the previous build (``existing``: only files still there)."""
    keys = {p: e["key"] for p, e in read_manifest(out_dir).items() if isinstance(e, dict) and e.get("key")}
    if existing:
        # a plain stat per file; a tampered path is refused later, by safe_join, when reused
        root = os.fspath(out_dir)
        keys = {p: k for p, k in keys.items() if os.path.isfile(os.path.join(root, p))}
    return keys


def _static_files(static_dirs: Iterable[Path]) -> dict[str, bytes]:
    """``static/<relative>`` -> content; later folders override earlier ones."""
    files: dict[str, bytes] = {}
    for folder in static_dirs:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    files["static/" + path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def _carry_over(old: str, new: str) -> None:
    """Put the previous build's file in the new tree without rewriting it (same inode, mtime)."""
    try:
        os.link(old, new)
    except OSError:  # a filesystem without hard links: a copy that keeps the mtime
        shutil.copy2(old, new)


def write_site(
    pages: Mapping[str, str | bytes],
    out_dir: str | Path,
    *,
    static_dirs: Iterable[Path] = (BUNDLED_STATIC,),
    keys: Mapping[str, str] | None = None,
    reuse: Iterable[str] = (),
) -> Path:
    """Write ``pages`` (and ``static/``) to ``out_dir``; readers never see a half-written site.

    Incremental: a file whose content hash matches the previous build's manifest, and every
    path in ``reuse`` (pages the caller did not re-render because their ``keys`` match), is
    hard-linked from the previous tree, so unchanged files keep their mtime. Everything goes
    to a temporary folder beside ``out_dir`` first; then the old site is renamed away, the new
    one renamed in, and the old one deleted. On any error the previous site stays as it was.
    """
    return write_site_stats(pages, out_dir, static_dirs=static_dirs, keys=keys, reuse=reuse)[0]


def write_site_stats(
    pages: Mapping[str, str | bytes],
    out_dir: str | Path,
    *,
    static_dirs: Iterable[Path] = (BUNDLED_STATIC,),
    keys: Mapping[str, str] | None = None,
    reuse: Iterable[str] = (),
) -> tuple[Path, WriteStats]:
    """``write_site`` that also says how many files it wrote and kept."""
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    keys = dict(keys or {})
    previous = read_manifest(out_dir)
    token = uuid.uuid4().hex[:12]
    staging = out_dir.parent / f".{out_dir.name}.new-{token}"
    retired = out_dir.parent / f".{out_dir.name}.old-{token}"
    staging.mkdir()
    manifest: dict[str, dict[str, str]] = {}
    written = kept = 0
    made_dirs: set[str] = set()
    # Plain strings and os calls below: pathlib costs more than the writing at 20,000 files.
    staging_root, out_root = os.fspath(staging), os.fspath(out_dir)

    def place(relative: str) -> str:
        target = os.path.join(staging_root, safe_relative(relative))
        parent = os.path.dirname(target)
        if parent not in made_dirs:
            os.makedirs(parent, exist_ok=True)
            made_dirs.add(parent)
        return target

    try:
        for relative in reuse:
            entry = previous.get(relative)
            old = os.path.join(out_root, safe_relative(relative))
            if entry is None or not os.path.isfile(old):
                raise FileNotFoundError(f"{relative} cannot be reused: not in the previous build")
            _carry_over(old, place(relative))
            manifest[relative] = {"sha256": entry["sha256"], "key": keys.get(relative, "")}
            kept += 1
        files = {**_static_files(static_dirs), **pages}
        for relative, content in files.items():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            digest = hashlib.sha256(data).hexdigest()
            target = place(relative)
            old = os.path.join(out_root, relative)
            entry = previous.get(relative)
            if entry and entry.get("sha256") == digest and os.path.isfile(old) and os.path.getsize(old) == len(data):
                _carry_over(old, target)
                kept += 1
            else:
                with open(target, "wb") as file:
                    file.write(data)
                written += 1
            manifest[relative] = {"sha256": digest, "key": keys.get(relative, "")}
        (staging / MANIFEST).write_text(json.dumps(manifest, separators=(",", ":")), encoding="utf-8")
        if out_dir.exists():
            os.rename(out_dir, retired)
        os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not out_dir.exists():
            os.rename(retired, out_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    return out_dir, WriteStats(written=written, kept=kept)
