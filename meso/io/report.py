"""A self-contained HTML report (tables, captioned PNG figures embedded) for `meso demo` and friends."""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from meso.io.atomic import atomic_path, write_csv


@dataclass
class Figure:
    """A PNG and the caption that says what it shows, from which input, with which parameters."""

    path: Path
    caption: str = ""


@dataclass
class Section:
    """One heading with a paragraph, an optional table (rows of equal-length lists, the first
    being the header; also written as CSV beside the report when `csv` names it), optional
    figures (paths or `Figure`s) and optional preformatted text (commands, versions)."""

    title: str
    text: str = ""
    table: list[list[object]] = field(default_factory=list)
    figures: Sequence[Path | Figure] = field(default_factory=list)
    csv: str = ""
    code: str = ""


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table(rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_cell(v)}</th>" for v in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(item: Path | Figure) -> str:
    figure = item if isinstance(item, Figure) else Figure(Path(item))
    data = base64.b64encode(Path(figure.path).read_bytes()).decode()
    name = html.escape(Path(figure.path).name)
    caption = html.escape(figure.caption) + (" " if figure.caption else "")
    return (f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
            f"<figcaption>{caption}<span class='file'>({name})</span></figcaption></figure>")  # fmt: skip


def _csv_name(section: Section) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", section.csv).strip("_") + ".csv"


def software_versions() -> dict[str, str]:
    """The versions a user would quote with a result or a failed check (torch when installed)."""
    import platform
    from importlib import metadata

    import dolfinx
    import numpy
    from petsc4py import PETSc

    import meso

    versions = {"meso": meso.__version__, "dolfinx": dolfinx.__version__,
                "petsc": ".".join(map(str, PETSc.Sys.getVersion())), "numpy": numpy.__version__,
                "python": platform.python_version()}  # fmt: skip
    for package in ("torch", "monai", "scikit-image", "pyvista"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}table{border-collapse:collapse;margin:1em 0;font-size:95%}
td,th{border:1px solid #bbb;padding:4px 10px;text-align:right}th{background:#eee}
figure{margin:1.2em 0}img{width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:95%;color:#333;margin-top:.3em}.file{color:#888;font-size:85%}
pre{background:#f5f5f5;padding:.8em;overflow-x:auto;font-size:85%}a.csv{font-size:85%}"""


def write_report(
    path: str | os.PathLike,
    title: str,
    intro: str,
    sections: Sequence[Section],
) -> Path:
    """Write one HTML page (figures embedded, so it can be mailed or archived alone); tables of
    sections that name a `csv` also go to the `tables` folder beside it."""
    path = Path(path)
    tables = path.parent / "tables"
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
            if s.csv:
                target = tables / _csv_name(s)
                write_csv(
                    target, [dict(zip(map(str, s.table[0]), r, strict=True)) for r in s.table[1:]]
                )
                link = os.path.relpath(target, path.parent)
                parts.append(f"<p><a class='csv' href='{html.escape(link)}'>"
                             f"{html.escape(link)}</a></p>")  # fmt: skip
        parts.extend(_figure(f) for f in s.figures if Path(getattr(f, "path", f)).exists())
        if s.code:
            parts.append(f"<pre>{html.escape(s.code)}</pre>")
    parts.append("</body></html>")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts))
    return path
