"""The demo's synthetic stages: an LLZO microstructure (meso synth) solved for ionic conduction
(meso conduct, fv and fe) and elasticity (meso elastic)."""

from __future__ import annotations

import json
from pathlib import Path

from meso.cli.demo.runner import Runner
from meso.io.report import Figure, Section


def axis_table(result: dict, columns: list[tuple[str, str]]) -> list[list[object]]:
    """One row per axis of a conduction or elasticity result, with the named columns."""
    rows: list[list[object]] = [["axis", *[label for label, _ in columns]]]
    for axis, values in result["axes"].items():
        rows.append([axis, *[_get(values, key) for _, key in columns]])
    return rows


def _get(values: dict, key: str) -> object:
    """values[key], where "a.b" reads values["a"]["b"]; "" where absent."""
    for part in key.split("."):
        values = values.get(part, "") if isinstance(values, dict) else ""
    return values


def synthetic_sections(run: Runner, out: Path, synth_args: list[str], seed: str) -> list[Section]:
    """meso synth, then meso conduct --method both and meso elastic on its volume."""
    synth_dir, conduct_dir, elastic_dir = out / "synth", out / "conduct", out / "elastic"
    run("synth", ["synth", *synth_args, "--porosity", "0.05", "--seed", seed,
                  "--out", str(synth_dir)])  # fmt: skip
    volume = synth_dir / "synth.npz"
    synth = json.loads((synth_dir / "synth.json").read_text())
    run("conduct", ["conduct", str(volume), "--method", "both", "--fields",
                    "--out", str(conduct_dir)])  # fmt: skip
    conduction = json.loads((conduct_dir / "conduction.json").read_text())
    run("elastic", ["elastic", str(volume), "--fields", "--out", str(elastic_dir)])
    elasticity = json.loads((elastic_dir / "elasticity.json").read_text())
    for values in elasticity["axes"].values():
        stress = values.get("stress") or {}
        values["max_over_mean"] = stress.get("max_over_mean_axial", "")
        values["p99_over_mean"] = stress.get("p99_over_mean_axial", "")
    shape = "x".join(map(str, synth["shape"])) if "shape" in synth else ""
    return [
        Section(
            "Synthetic LLZO microstructure (meso synth)",
            f"Voronoi grains with one-voxel grain boundaries and 5% pores ({shape} voxels, "
            f"settings {' '.join(synth_args)}); the statistics requested vs those measured on "
            "the generated volume.",
            [["statistic", "requested", "measured"]]
            + [[c["quantity"], c["requested"], c["measured"]] for c in synth["comparison"]],
            [
                Figure(
                    synth_dir / "synth_slices.png",
                    "Mid-plane sections of the synthetic volume: grains, grain boundaries "
                    "and pores.",
                )
            ],
            csv="synth_statistics",
        ),
        Section(
            "Ionic conduction of the synthetic volume (meso conduct)",
            "Microstructure factor M = sigma_eff / sigma_grain and tortuosity factor "
            "tau = eps / M_geometric (pore geometry alone) along each axis, by the voxel "
            "finite-volume (fv) and finite-element (fe) discretisations; their difference is "
            "the discretisation estimate.",
            axis_table(
                conduction,
                [
                    ("M (fv)", "M"),
                    ("M (fe)", "fe.M"),
                    ("(fe - fv) / fv", "fe_minus_fv_relative"),
                    ("tortuosity factor", "tortuosity_factor"),
                    ("sigma_eff (S/m)", "sigma_eff_S_per_m"),
                    ("iterations", "iterations"),
                ],
            ),
            [
                Figure(
                    p,
                    f"|J| on mid-planes for a potential difference along {p.stem[0]}, fv solution.",
                )
                for p in sorted(conduct_dir.rglob("*_fv.png"))
            ],
            csv="synth_conduction",
        ),
        Section(
            "Elasticity of the synthetic volume (meso elastic)",
            "Young's modulus factor M = E_eff / E_grain under uniaxial strain, and von Mises "
            "stress concentration relative to the mean axial stress.",
            axis_table(
                elasticity,
                [
                    ("M", "M"),
                    ("E_eff (Pa)", "E_eff_Pa"),
                    ("von Mises max / mean", "max_over_mean"),
                    ("von Mises p99 / mean", "p99_over_mean"),
                ],
            ),
            [
                Figure(p, "Von Mises stress on mid-planes under uniaxial strain.")
                for p in sorted(elastic_dir.glob("*.png"))
            ],
            csv="synth_elasticity",
        ),
    ]
