#!/usr/bin/env bash
# gpu-run: opt-in
# GPU stage `ssmm-ncu`: Nsight Compute profile of one mma.sp SSMM launch (sy_ssmm, bf16 in and out, V = 128, 1:2) per
# shape of SSMM_NCU_SHAPES (default "16384 6144 1024;1408 2048 1024": m k n_sel, of 16384 tokens). Writes the
# details page and the per-SASS-instruction source page (warp stall samples) into the results folder, as the
# wgmma-ncu stage does for the Hopper kernel. ncu locks the SM clock, so its durations are not the benchmark's.
set -o pipefail
command -v ncu >/dev/null || { echo "ncu not found (CUDA toolkit bin/ not on PATH)"; exit 1; }
R="${SAMOYEDS_RESULTS_DIR:-data}"
IFS=';' read -ra shapes <<< "${SSMM_NCU_SHAPES:-16384 6144 1024;1408 2048 1024}"
rc=0
for shape in "${shapes[@]}"; do
  read -r M K N <<< "$shape"
  c="${SAMOYEDS_COMMIT:-unknown}"; tag="${M}x${K}-n${N}-${c:0:7}"
  ncu --set full -k regex:ssmm_kernel -c 1 -f -o "/tmp/ssmm-ncu-$tag" \
    deno run --allow-all bench/ssmm.ts --one "$M" "$K" "$N" 2>&1 | tail -3 || rc=1
  ncu --import "/tmp/ssmm-ncu-$tag.ncu-rep" --page details --print-details all > "$R/ncu-ssmm-$tag-details.txt" 2>&1 || rc=1
  ncu --import "/tmp/ssmm-ncu-$tag.ncu-rep" --page source --print-source sass --csv > "$R/ncu-ssmm-$tag-sass.csv" 2>&1 || rc=1
  grep -E 'Duration|Registers Per|Achieved Occupancy|Theoretical Occupancy|Compute \(SM\) Throughput|Memory Throughput|L2 Cache Throughput|Issue Slots Busy|Block Limit' "$R/ncu-ssmm-$tag-details.txt" | head -20
done
exit $rc
