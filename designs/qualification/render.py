"""The qualification report as files: JSON (the record, with its SHA-256), HTML (self-contained: inline
style, no script, no external reference) and PDF where WeasyPrint can render (Pango installed;
otherwise the PDF is skipped with a note saying why and how to get it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gonogo {{ r.gonogo_version }} qualification: {{ "PASS" if r.passed else "FAIL" }}</title>
<style>
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 10pt; margin: 1.5em; color: #111; }
h1 { font-size: 16pt; } h2 { font-size: 12pt; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
td.num { font-family: "DejaVu Sans Mono", monospace; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
.small { font-size: 8.5pt; color: #444; }
code { font-size: 8.5pt; word-break: break-all; }
@page { size: A4 landscape; margin: 1.2cm; }
</style>
</head>
<body>
<h1>gonogo {{ r.gonogo_version }}: on-site qualification &mdash;
<span class="{{ 'pass' if r.passed else 'fail' }}">{{ "PASS" if r.passed else "FAIL" }}</span></h1>
<p>{{ r.counts.passed }} of {{ r.counts.cases }} cases passed ({{ r.counts.checks }} checked values){% if r.failed_cases %};
failed: {{ r.failed_cases | join(", ") }}{% endif %}. Run from {{ r.started_at }} to {{ r.finished_at }}
({{ "%.1f" | format(r.seconds) }} s).</p>
<p class="small">SHA-256 of this report's JSON: <code>{{ r.sha256 }}</code> ({{ r.sha256_covers }}). Verify with
<code>gonogo qualify --verify FILE.json</code>.</p>

<h2>Software</h2>
<table>{% for name, version in r.software | dictsort %}<tr><th>{{ name }}</th><td>{{ version }}</td></tr>{% endfor %}</table>
<h2>Platform</h2>
<table>{% for name, value in r.platform | dictsort %}<tr><th>{{ name }}</th><td>{{ value }}</td></tr>{% endfor %}</table>

<h2>Cases</h2>
<table>
<tr><th>case</th><th>result</th><th>seconds</th></tr>
{% for c in r.cases %}<tr><td><a href="#{{ c.id }}">{{ c.id }}</a></td>
<td class="{{ 'pass' if c.passed else 'fail' }}">{{ "PASS" if c.passed else "FAIL" }}</td><td class="num">{{ c.seconds }}</td></tr>
{% endfor %}</table>

{% for c in r.cases %}
<h2 id="{{ c.id }}">{{ c.id }} &mdash; <span class="{{ 'pass' if c.passed else 'fail' }}">{{ "PASS" if c.passed else "FAIL" }}</span></h2>
<p>{{ c.title }}</p>
<p class="small"><b>Source:</b> {{ c.source }}<br><b>Expected values:</b> {{ c.how_obtained }}<br>
<b>Tolerance:</b> {{ c.tolerance_why }}{% if c.notes is defined %}<br><b>Run:</b> {{ c.notes }}{% endif %}</p>
{% if c.error is defined %}<p class="fail">Error: {{ c.error }}</p>{% endif %}
<table>
<tr><th>value</th><th>expected</th><th>tolerance</th>{% if c.mcse_k is defined %}<th>MCSE</th><th>allowed ({{ c.mcse_k }}&times;MCSE + tol.)</th>{% endif %}<th>obtained</th><th>|difference|</th><th>result</th></tr>
{% for k in c.checks %}<tr><td>{{ k.name }}</td><td class="num">{{ k.expected }}</td><td class="num">{{ k.tolerance }}</td>
{% if c.mcse_k is defined %}<td class="num">{{ k.mcse if k.mcse is defined else "" }}</td><td class="num">{{ k.allowed if k.allowed is defined else k.tolerance }}</td>{% endif %}
<td class="num">{{ k.obtained }}</td><td class="num">{{ "" if k.difference is none else "%.3g" | format(k.difference) }}</td>
<td class="{{ 'pass' if k.passed else 'fail' }}">{{ "PASS" if k.passed else "FAIL" }}</td></tr>
{% endfor %}</table>
{% endfor %}
</body>
</html>
"""

_ENVIRONMENT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                                  lstrip_blocks=True, keep_trailing_newline=True)


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    return _ENVIRONMENT.from_string(TEMPLATE).render(r=report)


def json_text(report: dict[str, Any]) -> str:
    """The report file's text: indented, sorted keys (its SHA-256 is of the canonical form, not of these bytes)."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def file_stem(report: dict[str, Any]) -> str:
    """``gonogo-<version>-qualification-<start, UTC>``: one run's files side by side, never overwritten by the next."""
    stamp = report["started_at"].replace("-", "").replace(":", "")
    return f"gonogo-{report['gonogo_version']}-qualification-{stamp}"


def write_report(report: dict[str, Any], directory: Path, *, pdf: bool = True) -> dict[str, Any]:
    """Write the report's JSON, HTML and (``pdf``, where WeasyPrint can render) PDF into ``directory``
    (created if missing); return ``{"json": path, "html": path, "pdf": path or None, "pdf_note": why not}``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = file_stem(report)
    html = render_html(report)
    paths: dict[str, Any] = {"json": directory / f"{stem}.json", "html": directory / f"{stem}.html", "pdf": None,
                             "pdf_note": None}
    paths["json"].write_text(json_text(report), encoding="utf-8")
    paths["html"].write_text(html, encoding="utf-8")
    if pdf:
        from designs.reports.render import PdfUnavailableError, html_to_pdf

        try:
            data = html_to_pdf(html)
        except PdfUnavailableError as exc:
            paths["pdf_note"] = f"PDF skipped: {exc}"
        else:
            paths["pdf"] = directory / f"{stem}.pdf"
            paths["pdf"].write_bytes(data)
    else:
        paths["pdf_note"] = "PDF not asked for"
    return paths
