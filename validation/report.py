"""The outputs of `meso validate`: validation.json and .csv, error and convergence figures, validation.html."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meso.io.atomic import atomic_path, write_csv, write_json
from meso.io.report import Figure, Section, software_versions, write_report
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


def _convergence_figures(results: list[CheckResult], folder: Path) -> list[Figure]:
    """One log-log PNG per convergence study: the lines of every check that plots into it,
    captioned with the fitted orders and the checks' verdicts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    studies: dict[str, list[CheckResult]] = {}
    for r in results:
        if r.ran and r.convergence:
            studies.setdefault(r.convergence["figure"], []).append(r)
    figures = []
    for index, (title, members) in enumerate(studies.items()):
        fig, ax = plt.subplots(figsize=(10, 6), constrained_layout=True)
        for r, marker in zip(members, "osD^v<>", strict=False):
            for label, line in r.convergence["lines"].items():
                ax.loglog(line["x"], line["y"], marker=marker, label=label)
        ticks = sorted({x for r in members for line in r.convergence["lines"].values()
                        for x in line["x"]})  # fmt: skip
        if len(ticks) <= 8 and all(float(x).is_integer() for x in ticks):  # radii, voxel counts
            ax.set_xticks(ticks, [str(int(x)) for x in ticks])
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel(members[0].convergence["x_label"], fontsize=12)
        ax.set_ylabel(members[0].convergence["y_label"], fontsize=12)
        ax.set_title(title, fontsize=13)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=11)
        path = folder / f"validation_convergence_{index + 1}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)
        verdicts = "; ".join(
            f"{r.name}: {r.value:.3g} against {r.reference:.3g} "
            f"({'pass' if r.passed else 'FAIL'})" for r in members
        )  # fmt: skip
        figures.append(Figure(path, f"{title}: relative error of each refinement. {verdicts}."))
    return figures


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
    write_csv(folder / "validation.csv",
              [{k: v for k, v in r.to_json().items() if k != "convergence"} for r in results])  # fmt: skip
    figure = Figure(
        _error_figure(results, folder / "validation_errors.png"),
        "Each check's |relative error| against its tolerance (black bar).",
    )
    convergence = _convergence_figures(results, folder)
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
                 "A bound passes when the value lies on its side (tolerance 0); an order check "
                 "compares the fitted convergence order with the theoretical one.", table,
                 [figure]),
         Section("Convergence", "Errors against the analytic reference (or the conforming "
                 "P2 solve) under refinement, log-log; the slopes are the orders checked above.",
                 figures=convergence)],
    )  # fmt: skip
    return document
