#!/usr/bin/env bash
# GPU stage `wgmma-ncu`: Nsight Compute profile of one wgmma.sp SSMM launch (default variant; shape from
# WGMMA_NCU_SHAPE, default the largest Figure 12 shape "16384 6144", 4096 of 16384 tokens or WGMMA_NSEL, bf16). Writes the
# details page (every section, all rule details) and the per-SASS-instruction source page (stall samples) as text
# into the results folder: the limiter analysis of docs/notes/wgmma-perf.md reads these. ncu locks the SM clock
# (base clock), so its durations are not the benchmark's.
set -o pipefail
command -v ncu >/dev/null || { echo "ncu not found (CUDA toolkit bin/ not on PATH)"; exit 1; }
R="${SAMOYEDS_RESULTS_DIR:-data}"
read -r M K <<< "${WGMMA_NCU_SHAPE:-16384 6144}"
# WGMMA_NSEL (bench/wgmma_variants.ts, default 4096 selected tokens) goes into the file names when set
# and the commit, so that a profile of a later kernel does not overwrite an older one
tag="${M}x${K}${WGMMA_NSEL:+-n$WGMMA_NSEL}-${SAMOYEDS_WGMMA_VARIANT:-default}${SAMOYEDS_COMMIT:+-${SAMOYEDS_COMMIT:0:7}}"
ncu --set full -k regex:ssmm_wgmma_kernel -c 1 -f -o "/tmp/wgmma-ncu-$tag" \
  deno run --allow-all bench/wgmma_variants.ts --one "$M" "$K" 2>&1 | tail -5
ncu --import "/tmp/wgmma-ncu-$tag.ncu-rep" --page details --print-details all > "$R/ncu-wgmma-$tag-details.txt" 2>&1
ncu --import "/tmp/wgmma-ncu-$tag.ncu-rep" --page source --print-source sass --csv > "$R/ncu-wgmma-$tag-sass.csv" 2>&1
ls -la "$R"/ncu-wgmma-"$tag"-*
head -60 "$R/ncu-wgmma-$tag-details.txt"
