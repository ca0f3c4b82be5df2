"""`backrank matches review` end to end: a small crawled store, answers piped on stdin."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from test_scoring_run import CATALOG, listing

from backrank.app.cli import main
from backrank.core.store import Store
from pipelines.matching import load_overrides

# (shop-a title, shop-b title): the same table worded twice, or two tables of one maker
PAIRS = {
    "fitspine": ("Teeter FitSpine X3 Inversion Table", "Teeter X3 FitSpine inversion table, back pad"),
    "gravity": ("Ironman Gravity 4000 Inversion Table", "Ironman Gravity 3000 Inversion Table"),
    "innova": ("Innova ITX9600 Heat and Massage Inversion Table", "Innova inversion table ITX-9600"),
    "yoleo": ("Yoleo Inversion Table Foldable 350 lb", "Foldable inversion table by Yoleo \x1b[31m350 lb"),
    "exerpeutic": ("Exerpeutic 225SL Inversion Table", "Exerpeutic 475SL Inversion Table XL"),
}  # fmt: skip


def crawled_store(folder: Path) -> tuple[Path, Path]:
    catalog = folder / "catalog.toml"
    catalog.write_text(CATALOG, encoding="utf-8")
    db = folder / "backrank.db"
    with Store.open(db) as store:
        run_id = store.start_run(str(catalog))
        store.save_listings(
            run_id,
            [
                listing(
                    shop,
                    f"{slug}-{shop[-1]}",
                    title=titles[side],
                    price=f"{199 + 10 * side}.00",
                    image_url=f"http://{shop}.test/img/{slug}.jpg",
                )
                for slug, titles in PAIRS.items()
                for side, shop in enumerate(("shop-a", "shop-b"))
            ],
        )
    return catalog, db


def review(catalog: Path, db: Path, answers: str, monkeypatch, capsys, questions: int = 3):
    monkeypatch.setattr("sys.stdin", io.StringIO(answers))
    code = main(
        ["matches", "review", "--catalog", str(catalog), "--db", str(db),
         "--questions", str(questions)]
    )  # fmt: skip
    return code, capsys.readouterr().out


def shown_pairs(out: str) -> list[tuple[str, str]]:
    """The (left, right) listing links of each pair shown, in order."""
    return re.findall(r"^  link\s+(\S+)\s+\| (\S+)$", out, flags=re.MULTILINE)


def product_of(db: Path) -> dict[str, str]:
    with Store.open(db) as store:
        members = store.read_product_listings()
        listings = store.read_listings()[["listing_id", "url"]]
    joined = members.merge(listings, on="listing_id")
    return dict(zip(joined["url"], joined["product_id"]))


def test_answers_go_to_matches_toml_refit_the_weights_and_decide_the_products(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog, db = crawled_store(tmp_path)
    code, out = review(catalog, db, "y\nwhat?\nn\ns\n", monkeypatch, capsys)
    assert code == 0
    pairs = shown_pairs(out)
    assert len(pairs) == 3, out
    # side by side: both titles, both stores, prices and image links
    assert "shop-a" in out and "shop-b" in out
    assert "http://shop-a.test/img/" in out and "199.00" in out
    assert "'what?': answer y, n, s or q" in out
    assert "\x1b" not in out  # a store's escape sequence never reaches the terminal
    said = re.search(r"1 same, 1 different, 1 skipped -> .*; (\d+) products? changed", out)
    assert said, out

    matches = tmp_path / "matches.toml"
    document = tomllib.loads(matches.read_text(encoding="utf-8"))
    assert document["same"] == [{"listings": list(pairs[0])}]
    assert document["different"] == [{"listings": list(pairs[1])}]
    assert set(document["weights"]) >= {"bias", "title_idf_cosine", "title_rarest_shared"}
    assert load_overrides(matches).weights  # `score` reads them back

    # the site follows the answers: the "yes" pair is one product, the "no" pair two
    assert main(["score", "--catalog", str(catalog), "--db", str(db), "--quiet"]) == 0
    product = product_of(db)
    assert product[pairs[0][0]] == product[pairs[0][1]]
    assert product[pairs[1][0]] != product[pairs[1][1]]

    # a second session asks about other pairs and keeps the first answers and one [weights]
    code, again = review(catalog, db, "n\nq\n", monkeypatch, capsys)
    assert code == 0
    assert shown_pairs(again)[0] not in pairs[:2]
    text = matches.read_text(encoding="utf-8")
    assert text.count("[weights]") == 1
    assert len(tomllib.loads(text)["different"]) == 2


def test_no_answers_leave_matches_toml_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog, db = crawled_store(tmp_path)
    matches = tmp_path / "matches.toml"
    matches.write_text("# my own notes\n", encoding="utf-8")
    code, out = review(catalog, db, "", monkeypatch, capsys)  # end of input at once
    assert code == 0
    assert "no answers: matches.toml unchanged" in out
    assert matches.read_text(encoding="utf-8") == "# my own notes\n"


def test_a_bad_weights_table_is_a_clear_error(tmp_path: Path) -> None:
    matches = tmp_path / "matches.toml"
    matches.write_text("[weights]\ntitle_vibes = 2.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="title_vibes"):
        load_overrides(matches)


def test_answers_piped_into_the_command(tmp_path: Path) -> None:
    """`printf 'y\\nq\\n' | backrank matches review`: a real pipe into a real process."""
    catalog, db = crawled_store(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "backrank.app.cli", "matches", "review", "--catalog",
         str(catalog), "--db", str(db), "--questions", "5"],
        input="y\nq\n", capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(shown_pairs(done.stdout)) == 2  # asked twice: answered, then quit
    assert "1 same, 0 different, 0 skipped" in done.stdout
    assert len(tomllib.loads((tmp_path / "matches.toml").read_text("utf-8"))["same"]) == 1
