"""Write rendered pages and static assets to a folder: atomically, and incrementally."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from reports.render import TEMPLATES_DIR

BUNDLED_STATIC = TEMPLATES_DIR / "static"
MANIFEST = ".backrank-manifest.json"
TWIN_MIN_FILES = 1_000  # a first build this big leaves its spare ready (see write_site_stats)


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
    """The previous build's ``{path: {"sha256", "key"}}``; {} when there is none or it is unreadable.

    Read-only for callers: one build reads it several times, so the parsed file is shared
    while its inode, size and mtime stay the same (each build writes a new file).
    """
    path = os.path.join(os.fspath(out_dir), MANIFEST)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return {}
    return _parsed_manifest(path, status.st_ino, status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _parsed_manifest(path: str, inode: int, size: int, mtime_ns: int) -> dict[str, dict[str, str]]:
    try:
        with open(path, encoding="utf-8") as file:
            manifest = json.load(file)
    except (OSError, ValueError):
        return {}  # a damaged manifest only costs a full rewrite
    return manifest if isinstance(manifest, dict) else {}


def _files_under(root: str) -> set[str]:
    """Every file below ``root`` as a relative POSIX path (one directory scan, no stat per file)."""
    found: set[str] = set()
    for folder, _, names in os.walk(root):
        relative = os.path.relpath(folder, root).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        found.update(prefix + name for name in names)
    return found


def previous_keys(out_dir: str | Path, existing: bool = False) -> dict[str, str]:
    """The render key of every page in the previous build (``existing``: only files still there)."""
    keys = {
        p: e["key"]
        for p, e in read_manifest(out_dir).items()
        if isinstance(e, dict) and e.get("key")
    }
    if existing and keys:
        # a tampered path is refused later, by safe_join, when reused
        present = _files_under(os.fspath(out_dir))
        keys = {p: k for p, k in keys.items() if p in present}
    return keys


def spare_dir(out_dir: str | Path) -> Path:
    """The previous-but-one build beside ``out_dir``, updated into the next build and swapped in."""
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.spare"


def twin_dir(out_dir: str | Path) -> Path:
    """Where a build without a spare links a second copy of itself, renamed to the spare after."""
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.twin"


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
    except FileNotFoundError:
        raise
    except OSError:  # a filesystem without hard links: a copy that keeps the mtime
        shutil.copy2(old, new)


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2``); False where unsupported."""
    renameat2 = getattr(_LIBC, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # an old kernel or a filesystem without exchange
    raise OSError(code, os.strerror(code), os.fspath(a))


def _swap_in(spare: Path, out_dir: Path) -> None:
    """Make ``spare`` the site and the site the spare; readers see one or the other, whole."""
    if not out_dir.exists():
        os.rename(spare, out_dir)
        return
    if _exchange(spare, out_dir):
        return
    # two renames: for an instant there is no site, but never half of one
    retired = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:12]}"
    os.rename(out_dir, retired)
    try:
        os.rename(spare, out_dir)
    except BaseException:
        os.rename(retired, out_dir)
        raise
    os.rename(retired, spare)


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
    carried over as a hard link, so unchanged files keep their inode and mtime.

    Two trees take turns: the site, and beside it the build before (``.<name>.spare``). The
    spare is brought up to date with only the files that differ from it (so an incremental
    build touches the changed files, not all of them), then the two folders are swapped in one
    step (Linux ``renameat2``; two renames elsewhere). ``out_dir`` stays a plain folder. On any
    error the site stays as it was; a spare left half-updated has no manifest and is rebuilt.
    """
    return write_site_stats(pages, out_dir, static_dirs=static_dirs, keys=keys, reuse=reuse)[0]


def _planned(
    pages: Mapping[str, str | bytes],
    static_dirs: Iterable[Path],
    previous: Mapping[str, dict[str, str]],
    reuse: Iterable[str],
) -> tuple[dict[str, str], dict[str, bytes]]:
    """``(sha256 per path of the new build, the bytes of every rendered and static file)``."""
    hashes: dict[str, str] = {}
    for relative in reuse:
        entry = previous.get(safe_relative(relative))
        if entry is None:
            raise FileNotFoundError(f"{relative} cannot be reused: not in the previous build")
        hashes[relative] = entry["sha256"]
    contents: dict[str, bytes] = {}
    for relative, content in {**_static_files(static_dirs), **pages}.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        hashes[safe_relative(relative)] = hashlib.sha256(data).hexdigest()
        contents[relative] = data
    return hashes, contents


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
    # Every path is checked before the spare is touched: an unsafe one fails with nothing done.
    hashes, contents = _planned(pages, static_dirs, previous, reuse)
    spare = spare_dir(out_dir)
    had_spare = spare.is_dir()
    spare_files = read_manifest(spare) if had_spare else {}
    if had_spare and not spare_files:  # half-updated or foreign: start it afresh
        shutil.rmtree(spare)
        had_spare = False
    # Plain strings and os calls below: pathlib costs more than the writing at 20,000 files.
    spare_root, out_root = os.fspath(spare), os.fspath(out_dir)
    # A first build (no site yet: nothing is swapped out to become the spare) of a big site also
    # hard-links every file into a twin as it makes it (nearly free); the twin becomes the spare
    # after the swap, so the next build updates it instead of linking the whole site (0.2 s at
    # 20,000 files). A small site fills its spare on the next build in milliseconds.
    twin = twin_dir(out_dir)
    first_big = not had_spare and not out_dir.exists() and len(hashes) >= TWIN_MIN_FILES
    twin_root = os.fspath(twin) if first_big else None
    if os.path.lexists(twin):  # left by a build that failed
        shutil.rmtree(twin)
    made_dirs: set[str] = set()
    written = kept = 0
    try:
        if had_spare:
            os.unlink(os.path.join(spare_root, MANIFEST))  # from here on the spare is unknown
        else:
            os.mkdir(spare_root)
        if twin_root is not None:
            os.mkdir(twin_root)
        for relative in spare_files.keys() - hashes.keys():  # pages gone since the spare was built
            _remove(spare_root, relative)
        for relative, digest in hashes.items():
            entry = spare_files.get(relative)
            if entry is not None and entry.get("sha256") == digest:
                kept += 1
                continue
            target = os.path.join(spare_root, relative)
            if entry is not None:
                # never write into it (the site may share its inode); already missing is fine
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
            else:
                parent = os.path.dirname(target)
                if parent not in made_dirs:
                    os.makedirs(parent, exist_ok=True)
                    if twin_root is not None:
                        os.makedirs(
                            os.path.dirname(os.path.join(twin_root, relative)), exist_ok=True
                        )
                    made_dirs.add(parent)
            data = contents.get(relative)
            live = os.path.join(out_root, relative)
            same = (previous.get(relative) or {}).get("sha256") == digest
            if data is None or (
                same and os.path.isfile(live) and os.path.getsize(live) == len(data)
            ):
                _carry_over(live, target)  # a reused page missing from the site raises here
                kept += 1
            else:
                with open(target, "wb") as file:
                    file.write(data)
                written += 1
            if twin_root is not None:
                _carry_over(target, os.path.join(twin_root, relative))
        manifest = {p: {"sha256": h, "key": keys.get(p, "")} for p, h in hashes.items()}
        manifest_path = os.path.join(spare_root, MANIFEST)
        with open(manifest_path, "w", encoding="utf-8") as file:
            file.write(json.dumps(manifest, separators=(",", ":")))
        if twin_root is not None:
            _carry_over(manifest_path, os.path.join(twin_root, MANIFEST))  # the twin is whole now
        _swap_in(spare, out_dir)
    except BaseException:
        if not had_spare:
            shutil.rmtree(spare, ignore_errors=True)
        if twin_root is not None:
            shutil.rmtree(twin_root, ignore_errors=True)
        raise
    if twin_root is not None:
        os.rename(twin, spare)  # the spare was renamed to out_dir: its name is free
    return out_dir, WriteStats(written=written, kept=kept)


def _remove(root: str, relative: str) -> None:
    """Delete a file of the spare and the folders it leaves empty (``go/<slug>/``)."""
    path = os.path.join(root, safe_relative(relative))
    if os.path.isfile(path):
        os.unlink(path)
    folder = os.path.dirname(path)
    while folder != root and not os.listdir(folder):
        os.rmdir(folder)
        folder = os.path.dirname(folder)
