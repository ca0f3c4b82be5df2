"""`backrank check`: FILE:LINE messages for any bytes, plain lines, exit 0/1/2, private hosts."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import SITE_TOML, write_catalog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backrank.app.cli import main
from backrank.core.config import CatalogError, load_catalog

ROOT = Path(__file__).resolve().parents[1]
DEMO_TEMPLATE = ROOT / "backrank" / "demo" / "catalog.toml"
MESSAGE = re.compile(r"^[^:\n]+\.toml:\d+: \S[^\n]*$")


def check(path: Path) -> tuple[int, str, str]:
    """Run `backrank check` in process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", "--catalog", str(path)])
    return code, out.getvalue(), err.getvalue()


def store_at(url: str, extra: str = "") -> str:
    return SITE_TOML + extra + f'\n[[stores]]\nname = "shop"\nstart_urls = ["{url}"]\n'


def line_of(text: str, start: str) -> int:
    """The number of the first line of ``text`` that starts with ``start``."""
    return next(n for n, line in enumerate(text.split("\n"), 1) if line.startswith(start))


def test_a_catalog_that_is_not_utf8_is_a_message_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_bytes(SITE_TOML.encode() + b'disclosure = "Caf\xe9"\n')
    code, out, err = check(path)
    assert code == 2 and out == ""
    assert err == "catalog.toml:4: catalog: is not UTF-8 text (byte 0xe9 in column 18)\n"


def test_a_binary_file_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    code, _, err = check(path)
    assert code == 2
    assert err.startswith("catalog.toml:1: catalog: is not UTF-8 text")
    assert "Traceback" not in err


@pytest.mark.parametrize("opening", ["[", "{a = "])
def test_deeply_nested_toml_is_a_message_with_its_line(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    nested = "x = " + opening * 5000 + "1" + closing * 5000 + "\n"
    path = write_catalog(tmp_path, SITE_TOML + "\n[scoring]\n" + nested)
    code, _, err = check(path)
    assert code == 2
    assert err.startswith("catalog.toml:6: toml: nested more than")
    with pytest.raises(CatalogError, match=r"^catalog\.toml:6: toml: nested more than"):
        load_catalog(path)


def test_check_lines_are_not_wrapped_when_output_is_not_a_terminal(tmp_path: Path) -> None:
    long_name = "an-affiliate-program-with-a-very-long-name-that-nobody-has-defined-anywhere"
    text = store_at("https://shop.example/c", '\n[crawl]\nconcurrency = "many"\n')
    text += f'affiliate = "{long_name}"\n'
    path = write_catalog(tmp_path, text)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from backrank.app.cli import main; sys.exit(main())",
            "check",
            "--catalog",
            str(path),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"catalog.toml:{line_of(text, 'concurrency')}: crawl.concurrency: must be an integer "
        "(got a string)",
        f'catalog.toml:{line_of(text, "affiliate")}: stores[0].affiliate: "{long_name}" is not defined in [affiliates] '
        "(none defined)",
    ]


@pytest.mark.parametrize(
    ("url", "host", "kind"),
    [
        ("http://127.0.0.1:8101/collections/all", "127.0.0.1", "a loopback"),
        ("http://localhost:8000/", "localhost", "a loopback"),
        ("http://[::1]:8000/", "::1", "a loopback"),
        ("http://10.1.2.3/shop", "10.1.2.3", "a private"),
        ("http://192.168.0.10/shop", "192.168.0.10", "a private"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "a link-local"),
    ],
)
def test_check_warns_on_private_hosts(tmp_path: Path, url: str, host: str, kind: str) -> None:
    text = store_at(url)
    path = write_catalog(tmp_path, text)
    code, out, err = check(path)
    assert code == 1  # warnings: the catalog still loads and crawls
    assert err == (
        f"catalog.toml:{line_of(text, 'start_urls')}: stores[0].start_urls: warning: {host} "
        f"is {kind} address; set "
        "allow_private_hosts = true in [crawl] if this store is meant to be on it\n"
    )
    assert out.startswith(f"{path}: ok (1 stores, 0 affiliate programs, 1 warning)")
    assert load_catalog(path).stores[0].urls == (url,)


def test_allow_private_hosts_silences_the_warning(tmp_path: Path) -> None:
    path = write_catalog(
        tmp_path, store_at("http://127.0.0.1:8101/", "\n[crawl]\nallow_private_hosts = true\n")
    )
    assert check(path) == (0, f"{path}: ok (1 stores, 0 affiliate programs)\n", "")
    assert load_catalog(path).crawl.allow_private_hosts is True


def test_public_hosts_pass_without_a_word(tmp_path: Path) -> None:
    path = write_catalog(tmp_path, store_at("https://shop.example/collections/all"))
    assert check(path) == (0, f"{path}: ok (1 stores, 0 affiliate programs)\n", "")
    assert load_catalog(path).crawl.allow_private_hosts is False


def test_the_demo_catalog_allows_its_local_stores(tmp_path: Path) -> None:
    """The bundled demo catalog (and so the marketplace's, made from it) says so itself."""
    # {amazon_asins} stands for the Amazon store's ASINs (an inline table ASIN = title)
    template = DEMO_TEMPLATE.read_text(encoding="utf-8").replace(
        "{amazon_asins}", '{ B0TEST1234 = "A title" }'
    )
    filled = [
        line
        if line.lstrip().startswith("url_template")
        else re.sub(r"\{(\w+)\}", "http://127.0.0.1:8101", line)
        for line in template.splitlines()
    ]
    path = write_catalog(tmp_path, "\n".join(filled) + "\n")
    code, out, err = check(path)
    assert (code, err) == (0, "")
    assert out.startswith(f"{path}: ok (4 stores")


# --- fuzzing: whatever the file holds, a message and an exit code, never a traceback -----

KEYS = {
    (): ["site", "crawl", "stores", "affiliates", "categories", "scoring", "sites"],
    ("site",): ["name", "base_url", "disclosure", "max_price_age_hours", "theme_dir", "demo"],
    ("crawl",): ["polite", "concurrency", "max_review_pages", "allow_private_hosts", "gone"],
    ("stores",): ["name", "platform", "start_urls", "product_urls", "affiliate", "currency"],
    ("affiliates",): ["amazon", "shop"],
    ("program",): ["kind", "url_template", "tag", "cloak", "url"],
    ("categories",): ["name", "slug", "keywords", "min_max_user_weight_lb", "max_warranty"],
    ("scoring",): [
        "prior_strength", "min_reviews", "weights", "trust", "badges", "prices", "matching",
        "aspects", "subcategory_specs",
    ],
    ("scoring", "trust"): ["warn_p", "fail_p", "grade_bounds", "weights", "burst_min", "x"],
    ("scoring", "weights"): ["rating", "wilson", "value", "price"],
    ("scoring", "badges"): ["min_contenders", "trusted_grades", "x"],
    ("scoring", "prices"): ["good_within", "min_history_days"],
    ("scoring", "matching"): ["threshold", "bias", "candidates_per_listing", "thresold"],
    ("scoring", "aspects"): ["comfort", "noise", "new_one"],
    ("scoring", "subcategory_specs"): ["inversion-tables", "nope"],
}  # fmt: skip
SAMPLES = [
    "https://shop.example/p", "http://127.0.0.1:99999/", "http://[::1/", "http://10.0.0.1/x",
    "{url}?ref={ref}", "https://www.amazon.com/dp/{asin}?tag={tag}", "{0}", "{", "ftp://x",
    "amazon", "shopify", "A", "F", "USD", "", "x" * 300, "\u2028", "0.5",
]  # fmt: skip
scalars = (
    st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(SAMPLES)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(SAMPLES[5:12]) | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def table(draw: st.DrawFn, where: tuple[str, ...]) -> dict[str, Any]:
    """A table with keys a catalog may have there (and some it may not), values of any kind."""
    keys = draw(st.lists(st.sampled_from(KEYS[where]), unique=True, max_size=5))
    result: dict[str, Any] = {}
    for key in keys:
        nested = (*where, key)
        if where == ("affiliates",):
            result[key] = draw(table(("program",)) | values)
        elif nested in KEYS:
            result[key] = draw(table(nested) | values)
        elif nested in (("stores",), ("categories",)):
            result[key] = draw(st.lists(table(nested), max_size=3) | values)
        else:
            result[key] = draw(values)
    return result


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string (or a TOML error)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_pair(key: str, value: Any) -> str:
    return f"{json.dumps(key)} = {toml_value(value)}"


def toml_text(document: dict[str, Any]) -> str:
    """The document as TOML: its tables and arrays of tables as headers, the rest inline."""
    head: list[str] = []
    tables: list[str] = []
    for key, value in document.items():
        if isinstance(value, dict):
            tables += [f"[{json.dumps(key)}]", *(toml_pair(k, v) for k, v in value.items())]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for entry in value:
                tables += [f"[[{json.dumps(key)}]]", *(toml_pair(k, v) for k, v in entry.items())]
        else:
            head.append(toml_pair(key, value))
    return "\n".join(head + tables) + "\n"


def assert_message_or_ok(path: Path) -> None:
    code, out, err = check(path)
    assert code in (0, 1, 2)
    if code == 2:
        assert err and all(MESSAGE.match(line) for line in err.splitlines()), err
    else:
        assert out.startswith(f"{path}: ok ("), out
        assert all(MESSAGE.match(line) and ": warning: " in line for line in err.splitlines())
    try:
        load_catalog(path)
    except CatalogError as error:
        assert code == 2 and str(error) == err.splitlines()[0]


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_check_on_random_bytes_is_always_a_message(fuzz_dir: Path, content: bytes) -> None:
    path = fuzz_dir / "catalog.toml"
    path.write_bytes(content)
    assert_message_or_ok(path)


@FUZZ
@given(table(()))
def test_check_on_random_toml_is_always_a_message(fuzz_dir: Path, document: dict) -> None:
    path = fuzz_dir / "catalog.toml"
    path.write_text(toml_text(document), encoding="utf-8")
    assert_message_or_ok(path)
