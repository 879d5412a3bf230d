#!/bin/bash
# Run a `meso sweep` on a Slurm cluster, two ways (pick one with MODE=array or MODE=mpi):
#
#   MODE=array sbatch --array=0-$(( $(meso sweep sweep.toml --list | wc -l) - 1 )) examples/slurm_sweep.sh
#       one array task per case (`--case $SLURM_ARRAY_TASK_ID`, the 0-based position in
#       `--list`; every task rewrites results.csv / summary.csv from the finished cases);
#       then, once all tasks are done, the same command without --case makes sure they are
#       complete (it skips finished cases, and runs again any case a task left failed):
#   sbatch --dependency=afterany:<array job id> --export=MODE=collect examples/slurm_sweep.sh
#
#   MODE=mpi sbatch --ntasks=32 examples/slurm_sweep.sh
#       one MPI job: the 32 ranks split into 16 groups of 2 (RANKS_PER_CASE), each solving
#       one case at a time on 2 PETSc ranks; rank 0 hands out the cases.
#
# Every mode is resumable: resubmitting skips finished cases (their folders are untouched),
# and a killed job loses only the cases it was running. A changed TOML in the same --out
# folder is refused. Exit code 1 when some case failed (errors in OUT/summary.json).
#
#SBATCH --job-name=meso-sweep
#SBATCH --time=04:00:00
#SBATCH --cpus-per-task=1
#SBATCH --mem-per-cpu=4G
#SBATCH --output=meso-sweep-%A_%a.out

set -euo pipefail
SWEEP=${SWEEP:-sweep.toml}
OUT=${OUT:-sweep-out}
MODE=${MODE:-array}
RANKS_PER_CASE=${RANKS_PER_CASE:-2}
# environment: `mamba activate meso-llzo` (environment.yml) or `source .venv/bin/activate`
export OMP_NUM_THREADS=1    # one core per rank: PETSc and numpy threads would oversubscribe

case "$MODE" in
  array)
    meso sweep "$SWEEP" --out "$OUT" --case "${SLURM_ARRAY_TASK_ID:?submit with --array}" --quiet ;;
  collect)
    meso sweep "$SWEEP" --out "$OUT" ;;
  mpi)
    srun meso sweep "$SWEEP" --out "$OUT" --ranks-per-case "$RANKS_PER_CASE" --quiet ;;
  *)
    echo "MODE must be array, collect or mpi, not $MODE" >&2; exit 2 ;;
esac
