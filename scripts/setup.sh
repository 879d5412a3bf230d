#!/usr/bin/env bash
# Idempotent environment setup: Debian's FEniCSx stack, then .venv with the project and pinned extras.
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${MESO_EXTRAS:-dev}"
SYS_PY=/usr/bin/python3
VENV=.venv
STAMP="$VENV/.setup-stamp"
APT_PACKAGES=(python3-dolfinx-real python3-petsc4py-real python3-mpi4py python3-h5py-mpi
              python3-venv python3-gmsh python3-pip chromium)

say()  { echo "setup: $*"; }
fail() { echo "setup: FAILED: $*" >&2; exit 1; }

key=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)-$EXTRAS
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$key" ]] && "$VENV/bin/python" -c "import dolfinx, meso" 2>/dev/null; then
    say "environment up to date ($VENV)"
    exit 0
fi

# 1. Debian packages (DOLFINx, PETSc, MPI, Debian's h5py built against the same HDF5).
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        fail "missing Debian packages: ${missing[*]}; run 'sudo apt-get install ${missing[*]}' or use the conda route (environment.yml)"
    fi
    say "installing Debian packages: ${missing[*]}"
    apt-get update -q >/dev/null || fail "apt-get update did not succeed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >/tmp/meso-apt.log 2>&1 || fail "apt-get install did not succeed (log: /tmp/meso-apt.log)"
else
    say "Debian packages present"
fi
"$SYS_PY" -c "import dolfinx, petsc4py, mpi4py, h5py" 2>/dev/null \
    || fail "$SYS_PY cannot import dolfinx/petsc4py/mpi4py/h5py after installing the Debian packages"

# 2. The venv sees the system's DOLFINx; everything else comes from PyPI.
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV (with system site packages)"
    "$SYS_PY" -m venv --system-site-packages "$VENV" || fail "could not create $VENV"
fi

# Keep pip from replacing the numpy and h5py that Debian's compiled modules were built against
# (pip's numpy 2 breaks them; pip's h5py loads a second HDF5: "Not a datatype").
constraints="$VENV/constraints.txt"
"$SYS_PY" - >"$constraints" <<'PY'
import h5py, numpy
print(f"numpy=={numpy.__version__}")
print(f"h5py=={h5py.__version__}")
PY
# Debian's h5py registers itself as "h5py._debian_h5py_serial", so pip does not see it and tries
# to build h5py for packages that require it (algotom): declare the system's h5py to pip.
h5py_version=$(sed -n 's/^h5py==//p' "$constraints")
purelib=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
mkdir -p "$purelib/h5py-$h5py_version.dist-info"
printf 'Metadata-Version: 2.1\nName: h5py\nVersion: %s\n' "$h5py_version" \
    >"$purelib/h5py-$h5py_version.dist-info/METADATA"
say "pinned to the system's $(tr '\n' ' ' <"$constraints")"
say "installing the project and its '$EXTRAS' extras into $VENV (first run: a few minutes)"
# (grep drops pip's notes about this machine's unused local package folders)
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c "$constraints" -e ".[$EXTRAS]" 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }
((PIPESTATUS[0] == 0)) || fail "pip install of .[$EXTRAS] did not succeed (see the messages above)"
"$VENV/bin/python" -c "import dolfinx, meso, numpy, h5py; assert h5py.__file__.startswith('/usr/'), h5py.__file__" \
    || fail "the venv cannot import dolfinx and meso together, or uses pip's h5py"
echo "$key" >"$STAMP"
say "done ($VENV/bin/meso is ready)"
