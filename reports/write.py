"""Write rendered pages and static assets to a folder, swapping it in atomically."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from reports.render import TEMPLATES_DIR

BUNDLED_STATIC = TEMPLATES_DIR / "static"


class UnsafePathError(ValueError):
    """A page path that would escape the output folder."""


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative`` for a plain relative POSIX path; raise UnsafePathError otherwise."""
    if not relative or "\\" in relative or "\x00" in relative:
        raise UnsafePathError(f"unsafe page path {relative!r}")
    path = PurePosixPath(relative)
    if path.is_absolute() or any(part in ("", ".", "..") for part in relative.split("/")):
        raise UnsafePathError(f"unsafe page path {relative!r}")
    if ":" in path.parts[0]:  # a drive letter or URL scheme
        raise UnsafePathError(f"unsafe page path {relative!r}")
    return root.joinpath(*path.parts)


def _copy_static(static_dirs: Iterable[Path], target: Path) -> None:
    """Copy each folder's files under ``target``; later folders override earlier ones."""
    for folder in static_dirs:
        if folder.is_dir():
            shutil.copytree(folder, target, dirs_exist_ok=True)


def write_site(
    pages: Mapping[str, str | bytes],
    out_dir: str | Path,
    *,
    static_dirs: Iterable[Path] = (BUNDLED_STATIC,),
) -> Path:
    """Write ``pages`` (and ``static/``) to ``out_dir``; readers never see a half-written site.

    Everything goes to a temporary folder beside ``out_dir`` first; then the old site is
    renamed away, the new one renamed in, and the old one deleted. On any error the temporary
    folder is removed and the previous site is left as it was.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    staging = out_dir.parent / f".{out_dir.name}.new-{token}"
    retired = out_dir.parent / f".{out_dir.name}.old-{token}"
    staging.mkdir()
    try:
        _copy_static(static_dirs, staging / "static")
        for relative, content in pages.items():
            target = safe_join(staging, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        if out_dir.exists():
            os.rename(out_dir, retired)
        os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not out_dir.exists():
            os.rename(retired, out_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    return out_dir
