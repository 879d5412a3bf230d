"""Every option of every command is checked before any work: a bad value exits 2 with one line
naming the option and leaves no output; negative numbers are values; --help shows defaults and
examples."""

import argparse
import json
import re

import numpy as np
import pytest

from meso import Microstructure
from meso.cli import build_parser, main
from meso.io.volumes import save

SYNTH = ["synth", "--shape", "16", "--voxel-size", "0.5", "--porosity", "0.05", "--pore-size",
         "1.5", "--grain-size", "3"]  # fmt: skip


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """A folder with a 6^3 solid volume and a small Data Exchange scan; the working folder."""
    from imaging.io_dxchange import write_dxchange

    save(Microstructure(np.ones((6, 6, 6), np.uint8)), tmp_path / "solid.npz")
    rng = np.random.default_rng(0)
    data = rng.uniform(0.5, 0.9, (12, 4, 16)).astype(np.float32)  # angles, rows, columns
    flats, darks = np.ones((2, 4, 16), np.float32), np.zeros((2, 4, 16), np.float32)
    write_dxchange(tmp_path / "scan.h5", data, flats, darks, np.linspace(0, 180, 12, False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


BAD = [
    (["reconstruct", "scan.h5", "--pixel-size", "-1"], "--pixel-size"),
    (["reconstruct", "scan.h5", "--filter", "nope"], "--filter"),
    (["reconstruct", "scan.h5", "--slab-rows", "0"], "--slab-rows"),
    (["reconstruct", "scan.h5", "--rows", "3:1"], "--rows"),
    (["reconstruct", "scan.h5", "--center", "nan"], "--center"),
    (["reconstruct", "scan.h5", "--angle-range", "0"], "--angle-range"),
    (["reconstruct", "scan.h5", "--energy", "-5"], "--energy"),
    (["reconstruct", "scan.h5", "--rings", "big"], "--rings"),
    # options checked against the scan: before anything is written
    (["reconstruct", "scan.h5", "--center-row", "99"], "--center-row"),
    (["reconstruct", "scan.h5", "--rows", "0:99"], "--rows"),
    (["reconstruct", "scan.h5", "--center", "1e6"], "--center"),
    (["reconstruct", "scan.h5", "--phase"], "--phase"),
    ([*SYNTH, "--porosity", "1.5"], "--porosity"),
    ([*SYNTH, "--shape", "8,8"], "--shape"),
    ([*SYNTH, "--pore-size", "0"], "--pore-size"),
    ([*SYNTH, "--anisotropy", "1", "-1", "1"], "--anisotropy"),
    ([*SYNTH, "--seed", "-1"], "--seed"),
    ([*SYNTH, "--pore-placement", "edges"], "--pore-placement"),
    (["conduct", "solid.npz", "--axes", "q"], "--axes"),
    (["conduct", "solid.npz", "--method", "fd"], "--method"),
    (["conduct", "solid.npz", "--mesh", "conforming", "--size-um", "nan"], "--size-um"),
    # the sign is the mesher's check (before gmsh and any output), naming its parameter
    (["conduct", "solid.npz", "--mesh", "conforming", "--size-um", "0"], "size_um"),
    (["mesh", "solid.npz", "--kind", "conforming", "--size-um", "-1"], "size_um"),
    (["elastic", "solid.npz", "--strain", "abc"], "--strain"),
    (["elastic", "solid.npz", "--strain", "inf"], "--strain"),
    (["elastic", "solid.npz", "--strain", "-0.5"], "--strain"),
    (["elastic", "solid.npz", "--degree", "3"], "--degree"),
    (["elastic", "solid.npz", "--voxel-size", "x"], "--voxel-size"),
    # a voxel size <= 0 is refused when the volume is read, naming the file (README's rule)
    (["elastic", "solid.npz", "--voxel-size", "-1"], "solid.npz: voxel size"),
    (["conduct", "solid.npz", "--mesh", "conforming", "--voxel-size", "0"], "solid.npz: voxel"),
    (["mesh", "solid.npz", "--voxel-size", "-2"], "solid.npz: voxel size"),
    (["elastic", "solid.npz", "--bogus"], "--bogus"),
    (["phantom", "--voxel-size", "-1"], "--voxel-size"),
    (["phantom", "--angles", "0"], "--angles"),
    (["phantom", "--porosity", "0.5"], "--porosity"),
    (["phantom", "--dose", "-1"], "--dose"),
    (["phantom", "--stripes", "2"], "--stripes"),
    (["phantom", "--cycles", "1.5"], "--cycles"),
    (["phantom", "--shape", "48,40,48"], "--shape"),
    (["phantom", "--shape", "48,48,20"], "--shape"),
    (["mesh", "solid.npz", "--kind", "tet"], "--kind"),
    (["mesh", "solid.npz", "--kind", "conforming", "--refine-pores", "0.5"], "--refine-pores"),
    (["mesh", "solid.npz", "--kind", "conforming", "--smoothing", "-1"], "--smoothing"),
    (["mesh", "solid.npz", "--geometry-order", "3"], "--geometry-order"),
    (["demo", "--seed", "x"], "--seed"),
]


@pytest.mark.parametrize(("argv", "option"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_option_exits_2_with_one_line_and_no_output(inputs, capsys, argv, option):
    before = sorted(p.name for p in inputs.iterdir())
    capsys.readouterr()
    assert main([*argv, "--out", "out"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"meso {argv[0]}: error: {option}"), lines[0]
    assert sorted(p.name for p in inputs.iterdir()) == before  # no out/, no staging folder


@pytest.mark.parametrize("strain", ["-1e-3", "-1E-3", "-0.001", "-.1e-2"])
def test_negative_numbers_are_values(strain):
    args = build_parser().parse_args(["elastic", "vol.npz", "--strain", strain])
    assert args.strain == pytest.approx(-0.001)
    args = build_parser().parse_args(["reconstruct", "scan.h5", "--center", "-2.5e1"])
    assert args.center == -25.0


def test_compressive_strain_runs(inputs):
    assert main(["elastic", "solid.npz", "--strain", "-1e-3", "--out", "out", "--quiet"]) == 0
    data = json.loads((inputs / "out" / "elasticity.json").read_text())
    assert data["strain"] == pytest.approx(-1e-3)
    assert all(entry["M"] == pytest.approx(1.0, abs=1e-9) for entry in data["axes"].values())


@pytest.mark.parametrize(
    ("given", "shape"),
    [(["32"], (32, 32, 32)), (["16,24,32"], (16, 24, 32)), (["16", "24", "32"], (16, 24, 32))],
)
def test_shape_is_spelled_the_same_in_every_command(given, shape):
    parser = build_parser()
    assert parser.parse_args(["synth", "--shape", *given]).shape == shape
    assert parser.parse_args(["phantom", "--shape", *given]).shape == shape
    assert parser.parse_args(["phantom"]).shape == (128, 128, 128)


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by name, nested ones too ("segment otsu")."""

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, command in action.choices.items():
                    yield f"{prefix} {name}".strip(), command
                    yield from walk(command, f"{prefix} {name}")

    return dict(walk(build_parser(), ""))


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_shows_defaults_examples_and_every_option(name):
    command = _commands()[name]
    text = command.format_help()
    assert "%%" not in text and "==SUPPRESS==" not in text
    if " " not in name:  # a command (its steps, e.g. `segment otsu`, may share its examples)
        assert re.search(r"^examples?: ", text, re.M), "no example line"
    if "mpirun" in text:
        assert "--allow-run-as-root" in text  # what root needs
    for action in command._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        option = action.option_strings[0] if action.option_strings else action.dest
        assert action.help and action.help is not argparse.SUPPRESS, f"{option} has no help"
        if action.default not in (None, False, argparse.SUPPRESS):
            assert "default" in action.help, f"{option} does not show its default"
    assert "--shape N|NX,NY,NZ" in text or "--shape" not in text


def test_synth_help_says_which_options_are_required():
    text = _commands()["synth"].format_help()
    assert "required (unless --twin VOL):\n  --shape" in text


def test_demo_help_prints_one_percent_sign(capsys):
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    assert "5%-porosity" in out and "%%" not in out
