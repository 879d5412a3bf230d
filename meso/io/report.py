"""A self-contained HTML report (tables and embedded PNG figures) for `meso demo` and friends."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from meso.io.atomic import atomic_path


@dataclass
class Section:
    """One heading with a paragraph, an optional table (rows of equal-length lists, the first
    being the header) and optional PNG figures (paths)."""

    title: str
    text: str = ""
    table: list[list[object]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table(rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_cell(v)}</th>" for v in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    name = html.escape(Path(path).name)
    return f'<figure><img alt="{name}" src="data:image/png;base64,{data}"><figcaption>{name}</figcaption></figure>'


STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 10px;text-align:right}
th{background:#eee}figure{display:inline-block;margin:0 1em 1em 0}img{max-width:520px}
figcaption{font-size:80%;color:#666}"""


def write_report(
    path: str | os.PathLike, title: str, intro: str, sections: Sequence[Section]
) -> Path:
    """Write one HTML page (figures embedded, so it can be mailed or archived alone)."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
    ]
    parts.append(f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>")
    parts.append(f"<p>{html.escape(intro)}</p>")
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.text:
            parts.append(f"<p>{html.escape(s.text)}</p>")
        if s.table:
            parts.append(_table(s.table))
        parts.extend(_figure(f) for f in s.figures if Path(f).exists())
    parts.append("</body></html>")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts))
    return Path(path)
