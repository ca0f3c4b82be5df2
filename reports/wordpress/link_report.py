"""The link check's report: JSON and HTML written beside the store, atomically."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, StrictUndefined, select_autoescape

from backrank.core.files import write_text_atomically
from reports.wordpress.links import KINDS, LinkReport

HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Affiliate link check: {{ report.site }}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.link{word-break:break-all;max-width:30rem}code{white-space:pre-wrap}.ok{color:#1b6e20}</style></head>
<body><h1>Affiliate link check: {{ report.site }}</h1>
<p>{{ report.posts }} published posts and pages read (through {{ "the REST API" if report.source == "rest" else "the sitemap" }}),
{{ report.affiliate_links }} affiliate links checked, {{ report.findings|length }} to fix.</p>
<table><thead><tr><th scope="col">problem</th><th scope="col">count</th><th scope="col">what to do</th></tr></thead><tbody>
{% for kind, advice in kinds.items() %}<tr><td>{{ kind }}</td><td>{{ counts[kind] }}</td><td>{{ advice }}</td></tr>{% endfor %}
</tbody></table>
{% if report.findings %}<h2>To fix</h2>
<table><thead><tr><th scope="col">post</th><th scope="col">problem</th><th scope="col">link</th><th scope="col">detail</th></tr></thead><tbody>
{% for f in report.findings %}<tr><td><a href="{{ f.post_url }}">{{ f.post_title }}</a></td><td>{{ f.kind }}</td>
<td class="link">{{ f.link or "" }}</td><td>{{ f.detail }}{% if f.fix %}<br><code>{{ f.fix }}</code>{% endif %}</td></tr>
{% endfor %}</tbody></table>{% else %}<p class="ok">Nothing to fix.</p>{% endif %}
{% if report.clean_posts %}<h2>Clean posts</h2><ul>{% for url in report.clean_posts %}<li><a href="{{ url }}">{{ url }}</a></li>{% endfor %}</ul>{% endif %}
</body></html>
"""


def render_html(report: LinkReport) -> str:
    environment = Environment(
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
    )
    return environment.from_string(HTML_TEMPLATE).render(
        report=report, kinds=KINDS, counts=report.counts()
    )


def write_link_report(report: LinkReport, folder: Path) -> tuple[Path, Path]:
    """``links.json`` and ``links.html`` in ``folder`` (each replaced atomically)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / "links.json", folder / "links.html")
    texts = (json.dumps(report.as_json(), indent=1), render_html(report))
    for path, text in zip(paths, texts, strict=True):
        write_text_atomically(path, text)
    return paths
