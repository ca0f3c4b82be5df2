"""The writer's two trees: the site and its spare take turns, so a rebuild touches only changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reports import write as writer
from reports.write import MANIFEST, previous_keys, spare_dir, write_site_stats


def on_disk(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in root.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }


def write(out: Path, pages: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
    return write_site_stats(pages, out, static_dirs=(), **kwargs)  # type: ignore[arg-type]


def test_rebuilds_alternate_trees_and_hold_exactly_the_new_pages(tmp_path: Path) -> None:
    out = tmp_path / "site"
    builds = [
        {"index.html": "v1", "a.html": "a", "go/x/index.html": "to x", "b.html": "b1"},
        {"index.html": "v2", "a.html": "a", "b.html": "b2", "c.html": "c"},  # go/x/ gone
        {"index.html": "v3", "a.html": "a", "go/x/index.html": "back", "c.html": "c"},
        {"index.html": "v4", "a.html": "a", "c.html": "c2"},
    ]
    for pages in builds:
        _, stats = write(out, pages)
        assert out.is_dir() and not out.is_symlink()  # a plain folder any static host serves
        assert on_disk(out) == pages
        assert not (out / "go").exists() or "go/x/index.html" in pages  # no empty folders left
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.spare", "site"]
    assert on_disk(spare_dir(out)) == builds[-2]  # the build before, ready to be updated
    # the last build wrote only what differed from the spare (build 3): index and c
    assert stats.written == 2 and stats.kept == 1


def test_unchanged_files_keep_their_inode_through_both_trees(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write(out, {"index.html": "1", "keep.html": "same"})
    inode = os.stat(out / "keep.html").st_ino
    for n in range(2, 6):
        write(out, {"index.html": str(n), "keep.html": "same"}, reuse=())
        assert os.stat(out / "keep.html").st_ino == inode
        assert (out / "index.html").read_text(encoding="utf-8") == str(n)


def test_reused_pages_come_from_the_site_even_when_the_spare_is_older(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write(out, {"p.html": "old", "index.html": "1"}, keys={"p.html": "k1"})
    write(out, {"p.html": "new", "index.html": "2"}, keys={"p.html": "k2"})
    # p.html not re-rendered (its key still matches): the spare's "old" must not come back
    write(out, {"index.html": "3"}, keys={"p.html": "k2"}, reuse=["p.html"])
    assert on_disk(out) == {"p.html": "new", "index.html": "3"}
    assert previous_keys(out, existing=True) == {"p.html": "k2"}


def test_a_half_updated_spare_is_rebuilt(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write(out, {"index.html": "1", "a.html": "a"})
    write(out, {"index.html": "2", "a.html": "a"})
    spare = spare_dir(out)
    (spare / MANIFEST).unlink()  # as a build that failed half way leaves it
    (spare / "a.html").unlink()
    (spare / "stray.html").write_text("x", encoding="utf-8")
    write(out, {"index.html": "3", "a.html": "a"})
    assert on_disk(out) == {"index.html": "3", "a.html": "a"}


def test_a_failed_write_leaves_site_and_spare_usable(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write(out, {"index.html": "1"})
    write(out, {"index.html": "2"})
    with pytest.raises(FileNotFoundError):
        write(out, {"index.html": "3"}, reuse=["never-built.html"])
    assert on_disk(out) == {"index.html": "2"}
    write(out, {"index.html": "4", "new.html": "n"})
    assert on_disk(out) == {"index.html": "4", "new.html": "n"}


def test_a_small_first_build_leaves_only_the_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write(out, {"index.html": "1", "a.html": "a"})
    assert [p.name for p in tmp_path.iterdir()] == ["site"]
    _, stats = write(out, {"index.html": "2", "a.html": "a"})  # fills the spare: a few links
    assert (stats.written, stats.kept) == (1, 1)
    assert on_disk(spare_dir(out)) == {"index.html": "1", "a.html": "a"}


def test_a_big_first_build_leaves_the_spare_ready_so_the_next_touches_only_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "TWIN_MIN_FILES", 40)  # 51 files count as big here
    out = tmp_path / "site"
    pages = {f"p/{n}.html": f"page {n}" for n in range(50)} | {"index.html": "1"}
    _, first = write(out, pages)
    assert first.written == 51
    spare = spare_dir(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.spare", "site"]  # no twin left
    assert on_disk(spare) == on_disk(out) == pages
    assert os.stat(spare / "p" / "7.html").st_ino == os.stat(out / "p" / "7.html").st_ino
    inode = os.stat(out / "p" / "7.html").st_ino
    _, second = write(out, pages | {"index.html": "2", "p/3.html": "changed"})
    assert (second.written, second.kept) == (2, 49)  # no whole-site fill on the first rebuild
    assert on_disk(out) == pages | {"index.html": "2", "p/3.html": "changed"}
    assert on_disk(spare) == pages  # the build before, untouched by the rebuild
    assert os.stat(out / "p" / "7.html").st_ino == inode


def test_a_failed_first_build_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "TWIN_MIN_FILES", 1)
    out = tmp_path / "site"
    with pytest.raises(OSError):  # "a" is a file, so "a/b.html" fails half way through writing
        write(out, {"index.html": "1", "a": "x", "a/b.html": "y"})
    assert list(tmp_path.iterdir()) == []  # no site, no spare, no twin
    (tmp_path / ".site.twin").mkdir()  # a twin a killed build left is cleared, never trusted
    (tmp_path / ".site.twin" / "stale.html").write_text("x", encoding="utf-8")
    write(out, {"index.html": "1"})
    write(out, {"index.html": "2"})
    assert on_disk(out) == {"index.html": "2"} and on_disk(spare_dir(out)) == {"index.html": "1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.spare", "site"]
