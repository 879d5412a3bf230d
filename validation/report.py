"""The outputs of `meso validate`: validation.json, validation.csv, a figure of the errors, validation.html."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meso.io.atomic import atomic_path, write_csv, write_json
from meso.io.report import Section, software_versions, write_report
from validation.checks import CheckResult


def _error_figure(results: list[CheckResult], path: Path) -> Path:
    """Each check's |relative error| against its tolerance (log scale; bounds are left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in results if r.ran and r.tolerance > 0]
    errors = [max(abs(r.relative_error), 1e-16) for r in shown]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(shown) + 1.5), constrained_layout=True)
    rows = np.arange(len(shown))
    ax.barh(rows, errors, color=["#2ca02c" if r.passed else "#d62728" for r in shown])
    ax.scatter([r.tolerance for r in shown], rows, marker="|", s=300, color="k",
               label="tolerance")  # fmt: skip
    ax.set_yticks(rows, [f"{r.physics}: {r.name}" for r in shown])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("|value / reference - 1| (relative error, dimensionless)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def write_validation(results: list[CheckResult], folder: Path, quick: bool, ranks: int) -> dict:
    """Write the four outputs into `folder`; returns the validation.json document."""
    document = {
        "quick": quick,
        "ranks": ranks,
        "passed": all(r.passed for r in results),
        "failed": [r.name for r in results if not r.passed],
        "not_run": [r.name for r in results if not r.ran],
        "versions": software_versions(),
        "checks": [r.to_json() for r in results],
    }
    write_json(folder / "validation.json", document)
    write_csv(folder / "validation.csv", [r.to_json() for r in results])
    figure = _error_figure(results, folder / "validation_errors.png")
    table = [["physics", "check", "value", "reference", "relative error", "tolerance", "result",
              "reference source"]] + [
        [r.physics, r.name, r.value, r.reference, r.relative_error, r.tolerance,
         "pass" if r.passed and r.ran else ("not run" if not r.ran else "FAIL"), r.source]
        for r in results
    ]  # fmt: skip
    verdict = "every check passed" if document["passed"] else f"FAILED: {document['failed']}"
    write_report(
        folder / "validation.html",
        "meso validate",
        f"{verdict}; {'quick subset' if quick else 'all checks'} on {ranks} MPI rank(s). "
        "Versions: " + ", ".join(f"{k} {v}" for k, v in document["versions"].items()) + ".",
        [Section("Checks against analytic references and peer codes",
                 "A bound passes when the value lies on its side (tolerance 0).", table, [figure])],
    )  # fmt: skip
    return document
