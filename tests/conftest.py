"""Shared fixtures: paths to the project, the reference data folder and the meso executable."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


@pytest.fixture
def meso_exe() -> list[str]:
    """The `meso` console script of the environment running the tests."""
    exe = Path(sys.executable).with_name("meso")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "meso.cli"]


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (it is not part of a clone)")
    return SHARED_DATA


@pytest.fixture
def mpirun() -> list[str]:
    """The mpirun command line, run in a clean environment.

    Once this test process has initialised MPI (any import of mpi4py or DOLFINx), Open MPI has
    put its own variables into the C environment, which a child inherits and which make a
    child mpirun exit silently with code 1. They are not in os.environ, so the child gets
    exactly os.environ (``env -i`` plus its items) instead.
    """
    if shutil.which("mpirun") is None:
        pytest.fail("mpirun is not on PATH although the Debian MPI packages are a requirement")
    clean = [f"{k}={v}" for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_"))]
    return ["env", "-i", *clean, *MPIRUN]


# Appended to a copy of a report: after load, records how many images decoded in the DOM that
# headless Chromium dumps (the report itself carries no script).
_PROBE = """<script>window.addEventListener('load', () => {
  const images = [...document.images];
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  document.body.setAttribute('data-probe', `images=${images.length} broken=${broken}`);
});</script></body>"""


@pytest.fixture
def open_in_browser(tmp_path):
    """Load an HTML file in headless Chromium (the Debian package the setup installs); returns
    (number of images, number that failed to decode, console lines). Chromium logs every console
    message as INFO, errors included; a report holds no script, so any console line is a fault."""
    import re
    import subprocess

    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is not on PATH although scripts/setup.sh installs it")

    def load(page: Path) -> tuple[int, int, list[str]]:
        probe = page.with_name(f".probe-{page.name}")
        probe.write_text(page.read_text().replace("</body>", _PROBE))
        try:
            proc = subprocess.run(
                [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run", "--enable-logging=stderr",
                 "--v=0", f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
        finally:
            probe.unlink()
        found = re.search(r'data-probe="images=(\d+) broken=(\d+)"', proc.stdout)
        assert found, f"Chromium did not finish loading {page}: {proc.stderr[-2000:]}"
        console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
        return int(found[1]), int(found[2]), console

    return load
