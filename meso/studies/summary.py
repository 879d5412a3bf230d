"""results.csv (one row per case, physics and axis) and summary.csv (statistics over seeds) of a sweep.

Both are rebuilt from the case folders after every run, so they always describe exactly the
finished cases (a case run twice by two processes still gives one row per axis).

summary.csv has one row per grid point, physics and axis: the number of seeds finished, the
mean of M, its sample standard deviation (ddof = 1) and a 95% confidence interval of the mean,
mean -/+ t(0.975, n - 1) s / sqrt(n) (Student's t; empty for one seed), the mean measured
porosity and grain size, and the ids of the failed cases of that point.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from meso.io.atomic import write_csv, write_json
from meso.studies.cases import read_case
from meso.studies.grid import Sweep

RESULTS_CSV, SUMMARY_CSV, SUMMARY_JSON = "results.csv", "summary.csv", "summary.json"


def result_rows(sweep: Sweep, out: Path) -> list[dict[str, Any]]:
    """One row per case, physics and axis, in case order; a failed case gives rows with M empty
    and its error; a case not run yet gives none."""
    rows = []
    for case in sweep.cases:
        record = read_case(out, case.id)
        if record is None:
            continue
        measured = {f"measured_{k}": v for k, v in (record.get("measured") or {}).items()}
        results = record.get("results") or {}
        for physics in sweep.physics:
            for axis in sweep.axes:
                rows.append({"case": case.id, **case.parameters, "physics": physics, "axis": axis,
                             "M": (results.get(physics) or {}).get(axis), **measured,
                             "status": record.get("status"), "error": record.get("error") or "",
                             "wall_seconds": record.get("wall_seconds")})  # fmt: skip
    return rows


def interval95(values: list[float]) -> tuple[float, float, float, float]:
    """(mean, sample std, low, high) of a 95% Student-t interval of the mean (nan for n < 2).

    Examples
    --------
    >>> [round(v, 4) for v in interval95([1.0, 2.0, 3.0])]
    [2.0, 1.0, -0.4841, 4.4841]
    """
    n = len(values)
    if n == 0:
        return (math.nan,) * 4
    mean = float(np.mean(values))
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def _blank(value: float) -> float | str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def summary_rows(sweep: Sweep, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statistics over seeds per grid point, physics and axis (from `result_rows`)."""
    swept = list(sweep.grid)
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in sweep.cases:  # grid order, also for points without rows yet
        point = tuple(case.parameters[k] for k in swept)
        for physics in sweep.physics:
            for axis in sweep.axes:
                groups.setdefault((point, physics, axis), [])
    for row in rows:
        groups[(tuple(row[k] for k in swept), row["physics"], row["axis"])].append(row)
    summary = []
    for (point, physics, axis), members in groups.items():
        ok = [r for r in members if r["status"] == "ok" and r["M"] is not None]
        failed = sorted({r["case"] for r in members if r["status"] != "ok"})
        mean, std, low, high = interval95([r["M"] for r in ok])
        entry = {**dict(zip(swept, point, strict=True)), "physics": physics, "axis": axis,
                 "n_seeds": len(ok), "M_mean": mean, "M_std": std, "M_ci95_low": low,
                 "M_ci95_high": high}  # fmt: skip
        for key in ("measured_porosity", "measured_grain_size_um", "measured_pore_size_um"):
            values = [r[key] for r in ok if r.get(key) is not None]
            entry[f"{key}_mean"] = float(np.mean(values)) if values else math.nan
        entry["n_failed"] = len(failed)
        entry["failed_cases"] = ";".join(failed)
        summary.append({k: _blank(v) for k, v in entry.items()})
    return summary


def write_summary(sweep: Sweep, out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Write results.csv, summary.csv and summary.json (counts, failed cases) into `out`;
    return the summary.json document and summary.csv's rows."""
    out = Path(out)
    rows = result_rows(sweep, out)
    write_csv(out / RESULTS_CSV, [{k: _blank(v) for k, v in r.items()} for r in rows])
    table = summary_rows(sweep, rows)
    write_csv(out / SUMMARY_CSV, table)
    statuses = {}
    for row in rows:
        statuses[row["case"]] = (row["status"], row["error"])
    failed = {case: error for case, (status, error) in statuses.items() if status != "ok"}
    document = {"cases": len(sweep.cases),
                "finished": sum(1 for s, _ in statuses.values() if s == "ok"),
                "failed": failed,
                "not_run": [c.id for c in sweep.cases if c.id not in statuses],
                "fingerprint": sweep.fingerprint}  # fmt: skip
    write_json(out / SUMMARY_JSON, document)
    return document, table


__all__ = [
    "RESULTS_CSV",
    "SUMMARY_CSV",
    "interval95",
    "result_rows",
    "summary_rows",
    "write_summary",
]
