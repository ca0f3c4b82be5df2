"""WordPress core block markup (paragraph, heading, table, list, buttons, group) as the editor saves it.

Every text argument is plain text and is escaped here; only markup made by these functions is
passed on as ``Markup``. Attributes in a block's comment are encoded as WordPress's own
``serialize_block_attributes`` does, so a stored pattern reads back byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

Cell = str | Markup | None


def attributes_json(attributes: dict[str, Any]) -> str:
    """Block comment attributes, encoded like WordPress's ``serialize_block_attributes``."""
    encoded = json.dumps(attributes, ensure_ascii=False, separators=(",", ":"))
    for raw, code in (("--", "\\u002d\\u002d"), ("<", "\\u003c"), (">", "\\u003e"),
                      ("&", "\\u0026"), ('\\"', "\\u0022")):  # fmt: skip
        encoded = encoded.replace(raw, code)
    return encoded


def block(name: str, inner: Markup | str, attributes: dict[str, Any] | None = None) -> Markup:
    """``<!-- wp:name {attrs} -->`` + inner markup + ``<!-- /wp:name -->``."""
    attrs = f" {attributes_json(attributes)}" if attributes else ""
    return Markup(f"<!-- wp:{name}{attrs} -->\n{inner}\n<!-- /wp:{name} -->")


def _class(css: str | None) -> Markup:
    return Markup(' class="{}"').format(css) if css else Markup("")


def paragraph(text: Cell, css: str | None = None) -> Markup:
    return block(
        "paragraph",
        Markup("<p{}>{}</p>").format(_class(css), text or ""),
        {"className": css} if css else None,
    )


def heading(text: str, level: int = 3) -> Markup:
    tag = f"h{level}"
    return block(
        "heading",
        Markup("<{0}>{1}</{0}>").format(Markup(tag), text),
        None if level == 2 else {"level": level},
    )


def link(text: str, href: str, rel: str | None) -> Markup:
    """An inline link; ``rel`` as given (``sponsored nofollow`` for affiliate links)."""
    if rel:
        return Markup('<a href="{}" rel="{}">{}</a>').format(href, rel, text)
    return Markup('<a href="{}">{}</a>').format(href, text)


def table(head: Sequence[Cell], rows: Iterable[Sequence[Cell]], css: str | None = None) -> Markup:
    """A core table block: one header row and body rows of text or inline markup."""
    head_html = Markup("").join(Markup("<th>{}</th>").format(cell or "") for cell in head)
    body_html = Markup("").join(
        Markup("<tr>{}</tr>").format(
            Markup("").join(Markup("<td>{}</td>").format(cell or "") for cell in row)
        )
        for row in rows
    )
    css_class = f"wp-block-table {css}" if css else "wp-block-table"
    inner = Markup(
        '<figure class="{}"><table><thead><tr>{}</tr></thead><tbody>{}</tbody></table></figure>'
    ).format(css_class, head_html, body_html)
    return block("table", inner, {"className": css} if css else None)


def bullet_list(items: Iterable[Cell]) -> Markup:
    inner = Markup("\n\n").join(
        block("list-item", Markup("<li>{}</li>").format(item or "")) for item in items
    )
    return block("list", Markup("<ul>{}</ul>").format(inner))


@dataclass(frozen=True)
class Button:
    text: str
    href: str
    rel: str | None


def buttons(items: Sequence[Button]) -> Markup:
    inner = Markup("\n\n").join(
        block(
            "button",
            Markup('<div class="wp-block-button"><a class="wp-block-button__link wp-element-button"'
                   ' href="{}"{}>{}</a></div>').format(
                item.href, Markup(' rel="{}"').format(item.rel) if item.rel else "", item.text
            ),
        )
        for item in items
    )  # fmt: skip
    return block("buttons", Markup('<div class="wp-block-buttons">{}</div>').format(inner))


def group(children: Iterable[Markup], css: str) -> Markup:
    """A core group block with the given class, holding ``children`` in order."""
    inner = Markup("\n\n").join(children)
    return block(
        "group",
        Markup('<div class="wp-block-group {}">{}</div>').format(css, inner),
        {"className": css},
    )


def pattern_reference(pattern_id: int) -> str:
    """How a post embeds a synced pattern: ``<!-- wp:block {"ref":ID} /-->``."""
    return f"<!-- wp:block {attributes_json({'ref': int(pattern_id)})} /-->"
