#!/bin/bash
# From Data Exchange scans of one cell over cycling steps to its electrolyte's M_x / M_y / M_z
# against isotropic twins and the flux around its hot spots: the commands of `meso demo`, on
# your own files.
#
#   examples/tomography_pipeline.sh OUT SCAN.h5 [SCAN.h5 ...]        # one scan per step, in order
#
# Settings (environment variables):
#   DELTA_BETA=85.4        Paganin delta/beta (LLZO at 76.2 keV; 0 = no phase retrieval)
#   MODEL=DIR              a U-Net from `meso segment train` (else LABELS, else Otsu)
#   LABELS="A.h5 B.h5"     label volumes you already have, one per scan, in the same order
#   GRAIN_UM=6             grain size overlaid on the electrolyte (tomography does not see grains)
#   CONTACT_GAP_UM=0.65    lithium behind this much pore still touches the electrolyte
#   WINDOW_UM=W            a centred lateral window of the electrolyte (default: the whole cell)
#   TWINS=3                isotropic synthetic twins for the comparison
#   STEP=1                 the step whose electrolyte is modelled (0-based; its interval
#                          STEP-1 -> STEP is the measured current map)
#
# Each command writes into its own folder of OUT; the test suite runs this script on a small
# virtual cell (tests/test_examples.py).
set -euo pipefail
if (($# < 2)); then
    sed -n '2,20p' "$0" >&2
    exit 2
fi
out=$1
shift
scans=("$@")
DELTA_BETA=${DELTA_BETA:-85.4}
GRAIN_UM=${GRAIN_UM:-6}
CONTACT_GAP_UM=${CONTACT_GAP_UM:-0.65}
TWINS=${TWINS:-3}
STEP=${STEP:-1}
MESO=${MESO:-meso}
read -r -a given_labels <<<"${LABELS:-}"
if ((${#given_labels[@]} && ${#given_labels[@]} != ${#scans[@]})); then
    echo "tomography_pipeline.sh: LABELS names ${#given_labels[@]} files for ${#scans[@]} scans" >&2
    exit 2
fi
if ((STEP < 1 || STEP >= ${#scans[@]})); then
    echo "tomography_pipeline.sh: STEP=$STEP is not one of 1..$((${#scans[@]} - 1))" >&2
    exit 2
fi
run() { echo "+ $MESO $*"; "$MESO" "$@" --quiet; }

phase=()
[[ $DELTA_BETA != 0 ]] && phase=(--phase --delta-beta "$DELTA_BETA")
recons=() labels=()
for k in "${!scans[@]}"; do
    name=$(basename "${scans[$k]}" .h5)
    recon="$out/reconstruct/$name/$name.h5"
    run reconstruct "${scans[$k]}" "${phase[@]}" --out "$recon"
    recons+=("$recon")
    if [[ -n ${MODEL:-} ]]; then
        run segment predict "$recon" --model "$MODEL" --out "$out/segment/$name"
        labels+=("$out/segment/$name/labels.h5")
    elif ((${#given_labels[@]})); then
        labels+=("${given_labels[$k]}")
    else
        run segment otsu "$recon" --out "$out/segment/$name"
        labels+=("$out/segment/$name/labels.h5")
    fi
done

# porosity, thickness and current-density maps, electrolyte porosity and tortuosity per step
run quantify "${recons[@]}" --labels "${labels[@]}" --out "$out/quantify"

# the electrolyte of one step with synthetic grains, and the contact maps of its interfaces
ex="$out/extract"
window=()
[[ -n ${WINDOW_UM:-} ]] && window=(--window-um "$WINDOW_UM")
run extract "${labels[$STEP]}" --region electrolyte --overlay-grains-um "$GRAIN_UM" \
    --contact-gap-um "$CONTACT_GAP_UM" "${window[@]}" --out "$ex"

# tomogram vs isotropic twins: M_x / M_y / M_z over windows along the cell axis (Figure 4d)
run compare "$ex/subvolume.h5" --twins "$TWINS" --physics conduction,elasticity \
    --out "$out/compare"

# the flux through the contacting parts of the interfaces, against the measured current map
run hotspot "$ex/subvolume.h5" --contact-top "$ex/contact_top.npy" \
    --contact-bottom "$ex/contact_bottom.npy" --measured "$out/quantify/quantify.h5" \
    --step "$((STEP - 1))" --fields --out "$out/hotspot"
echo "tomography_pipeline.sh: done; see $out/quantify, $out/compare and $out/hotspot"
